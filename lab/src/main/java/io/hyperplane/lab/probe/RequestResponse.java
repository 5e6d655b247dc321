package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;

/**
 * 1-byte TCP request/response over one connection to an echo service, as fast as the round
 * trips allow, for a fixed time: the latency benchmark's client. The first fifth of the run is
 * warm-up and not recorded. Reports p50, p99 and mean in microseconds.
 */
final class RequestResponse {
    private static final int MAX_SAMPLES = 4_000_000;

    private RequestResponse() {
    }

    static ObjectNode run(InetSocketAddress target, long durationMs) throws IOException {
        long[] samples = new long[MAX_SAMPLES];
        int n = 0;
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
            while (now < end && n < MAX_SAMPLES) {
                out.write(1);
                if (in.read() < 0) {
                    throw new IOException("echo service closed the connection");
                }
                long after = System.nanoTime();
                if (now >= recordFrom) {
                    samples[n++] = after - now;
                }
                now = after;
            }
        }
        if (n == 0) {
            throw new IOException("no round trip completed");
        }
        Arrays.sort(samples, 0, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += samples[i];
        }
        return JsonNodeFactory.instance.objectNode().put("ok", true).put("samples", n)
                .put("p50Us", samples[(int) (n * 0.50)] / 1000.0)
                .put("p99Us", samples[Math.min(n - 1, (int) (n * 0.99))] / 1000.0)
                .put("meanUs", sum / n / 1000.0);
    }
}
