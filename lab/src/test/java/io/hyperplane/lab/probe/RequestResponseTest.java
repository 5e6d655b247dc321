package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

import static org.assertj.core.api.Assertions.assertThat;

/** The latency probe against an echo service on loopback: it reports what the forwarder bench reads. */
@Timeout(30)
class RequestResponseTest {
    @Test
    void shouldReportRoundTripPercentilesAndMeanInMicroseconds() throws Exception {
        try (ServerSocket echo = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread server = Thread.ofPlatform().daemon().start(() -> {
                try (Socket s = echo.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    for (int b = in.read(); b >= 0; b = in.read()) {
                        out.write(b);
                    }
                } catch (IOException e) {
                    // the probe closed its end
                }
            });

            ObjectNode r = RequestResponse.run(new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()), 300);

            server.join(5_000);
            assertThat(r.path("ok").asBoolean()).isTrue();
            assertThat(r.path("samples").asLong()).isPositive();
            assertThat(r.path("p50Us").asDouble()).isPositive().isLessThanOrEqualTo(r.path("p99Us").asDouble());
            assertThat(r.path("meanUs").asDouble()).isPositive();
        }
    }
}
