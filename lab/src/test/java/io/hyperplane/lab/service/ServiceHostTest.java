package io.hyperplane.lab.service;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.lab.probe.ProbeMain;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(30)
class ServiceHostTest {
    private ServiceHost host;
    private Thread loop;
    private String tcpEcho;
    private String udpEcho;
    private String http;

    @BeforeAll
    void start() throws IOException {
        host = ServiceHost.bind(InetAddress.getLoopbackAddress(), List.of(
                new ServiceHost.Listener(ServiceHost.Kind.TCP_ECHO, 0),
                new ServiceHost.Listener(ServiceHost.Kind.UDP_ECHO, 0),
                new ServiceHost.Listener(ServiceHost.Kind.HTTP, 0)));
        tcpEcho = "127.0.0.1:" + host.boundAddresses().get(0).getPort();
        udpEcho = "127.0.0.1:" + host.boundAddresses().get(1).getPort();
        http = "127.0.0.1:" + host.boundAddresses().get(2).getPort();
        loop = host.start();
    }

    @AfterAll
    void stop() throws InterruptedException {
        host.close();
        loop.join(5000);
    }

    @Test
    void shouldEchoTcp() {
        JsonNode result = ProbeMain.run("tcp", tcpEcho, "--send", "hello hyperplane", "--timeout-ms", "2000");

        assertThat(result.get("ok").asBoolean()).as(result.toString()).isTrue();
        assertThat(result.get("reply").asText()).isEqualTo("hello hyperplane");
    }

    @Test
    void shouldEchoUdp() {
        JsonNode result = ProbeMain.run("udp", udpEcho, "--send", "a datagram", "--timeout-ms", "2000");

        assertThat(result.get("ok").asBoolean()).as(result.toString()).isTrue();
        assertThat(result.get("reply").asText()).isEqualTo("a datagram");
    }

    @Test
    void shouldAnswerWhoamiWithThePeerAddress() {
        JsonNode result = ProbeMain.run("http", http, "/whoami", "--timeout-ms", "2000");

        assertThat(result.get("ok").asBoolean()).as(result.toString()).isTrue();
        assertThat(result.get("status").asInt()).isEqualTo(200);
        assertThat(result.get("body").asText()).matches("127\\.0\\.0\\.1:\\d+\n");
    }

    @Test
    void shouldAnswerWhoamiAtTheRootToo() {
        JsonNode result = ProbeMain.run("http", http, "/", "--timeout-ms", "2000");

        assertThat(result.get("status").asInt()).isEqualTo(200);
        assertThat(result.get("body").asText()).matches("127\\.0\\.0\\.1:\\d+\n");
    }

    @Test
    void shouldAnswer404ForOtherPaths() {
        JsonNode result = ProbeMain.run("http", http, "/other", "--timeout-ms", "2000");

        assertThat(result.get("status").asInt()).isEqualTo(404);
    }

    @Test
    void shouldAnswerPipelinedRequestsOnOneKeptAliveConnection() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), host.boundAddresses().get(2).getPort())) {
            String request = "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n";
            socket.getOutputStream().write((request + request).getBytes(StandardCharsets.US_ASCII));
            String expectedBody = "127.0.0.1:" + socket.getLocalPort() + "\n";
            String oneResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                    + expectedBody.length() + "\r\n\r\n" + expectedBody;

            assertThat(readExactly(socket.getInputStream(), 2 * oneResponse.length())).isEqualTo(oneResponse + oneResponse);

            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            assertThat(readExactly(socket.getInputStream(), oneResponse.length())).isEqualTo(oneResponse);
        }
    }

    @Test
    void shouldCloseAfterRespondingWhenAskedTo() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), host.boundAddresses().get(2).getPort())) {
            socket.getOutputStream().write("GET /whoami HTTP/1.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

            assertThat(response).startsWith("HTTP/1.1 200 OK\r\n").contains("Connection: close\r\n").endsWith("\n");
        }
    }

    @Test
    void shouldEchoAMegabyteWhileTheReaderIsSlowerThanTheWriter() throws Exception {
        byte[] payload = new byte[1 << 20];
        new Random(42).nextBytes(payload);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), host.boundAddresses().get(0).getPort())) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    socket.getOutputStream().write(payload);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Thread.sleep(200); // let the echo back up so the server has to hold output and stop reading

            byte[] echoed = socket.getInputStream().readNBytes(payload.length);

            writer.get();
            assertThat(echoed).isEqualTo(payload);
        }
    }

    @Test
    void shouldHold2000ConcurrentConnections() {
        JsonNode result = ProbeMain.run("connect-many", http, "--count", "2000", "--timeout-ms", "20000");

        assertThat(result.get("requested").asInt()).isEqualTo(2000);
        assertThat(result.get("connected").asInt()).as(result.toString()).isEqualTo(2000);
        assertThat(result.get("answered").asInt()).as(result.toString()).isEqualTo(2000);
        assertThat(result.get("distinctPeers").asInt()).isEqualTo(2000);
        assertThat(result.get("peerIps")).extracting(JsonNode::asText).containsExactly("127.0.0.1");
    }

    @Test
    void shouldReportRefusedConnections() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }

        JsonNode result = ProbeMain.run("tcp", "127.0.0.1:" + closedPort, "--send", "x", "--timeout-ms", "2000");

        assertThat(result.get("ok").asBoolean()).isFalse();
        assertThat(result.get("error").asText()).isEqualTo("refused");
    }

    private static String readExactly(InputStream in, int length) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(in.readNBytes(length));
        return out.toString(StandardCharsets.US_ASCII);
    }
}
