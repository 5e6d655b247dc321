package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.metrics.LatencyRecorder;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * 1-byte TCP request/response over one connection to an echo service, as fast as the round
 * trips allow, for a fixed time: the latency benchmark's client. The first fifth of the run is
 * warm-up and not recorded. Reports p50, p99 and mean in microseconds, as {@link LatencyRecorder}
 * defines them.
 */
final class RequestResponse {
    private RequestResponse() {
    }

    static ObjectNode run(InetSocketAddress target, long durationMs) throws IOException {
        LatencyRecorder latency = new LatencyRecorder();
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(target, 5000);
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            long start = System.nanoTime();
            long recordFrom = start + durationMs * 1_000_000 / 5;
            long end = start + durationMs * 1_000_000;
            long now = start;
            while (now < end) {
                out.write(1);
                if (in.read() < 0) {
                    throw new IOException("echo service closed the connection");
                }
                long after = System.nanoTime();
                if (now >= recordFrom) {
                    latency.recordNanos(after - now);
                }
                now = after;
            }
        }
        LatencyRecorder.Summary s = latency.summary();
        if (s.count() == 0) {
            throw new IOException("no round trip completed");
        }
        return JsonNodeFactory.instance.objectNode().put("ok", true).put("samples", s.count())
                .put("p50Us", s.p50Micros())
                .put("p99Us", s.p99Micros())
                .put("meanUs", s.meanMicros());
    }
}
