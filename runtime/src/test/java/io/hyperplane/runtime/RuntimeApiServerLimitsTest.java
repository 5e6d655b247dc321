package io.hyperplane.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Runtime API's body caps against a runtime that is the tenant's code and may send too much: declared,
 * chunked, on every path that takes a body. Real sockets on loopback, byte for byte ({@link RawHttpConnection}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RuntimeApiServerLimitsTest {

    private static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn";
    private static final String API = "/2018-06-01/runtime/";
    private static final String TOO_LARGE = "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\","
            + "\"errorType\":\"RequestEntityTooLarge\"}";
    private static final String ERROR_TOO_LARGE = "{\"errorMessage\":\"Exceeded maximum allowed payload size (262144 bytes).\","
            + "\"errorType\":\"RequestEntityTooLarge\"}";

    private RuntimeApiServer api;
    private final List<RawHttpConnection> connections = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        api = RuntimeApiServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void stop() throws IOException {
        for (RawHttpConnection connection : connections) {
            connection.close();
        }
        api.close();
    }

    @Test
    void shouldRefuseADeclaredOversizedResponseBeforeItsBodyIsSentAndServeTheNextInvocation() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "big");

        // A gigabyte declared and not one byte of it sent: the answer comes unread.
        runtime.send("POST " + API + "invocation/big/response HTTP/1.1\nHost: x\nContent-Length: 1000000000");
        RawHttpConnection.Response refused = runtime.read();
        assertThat(refused.status()).isEqualTo(413);
        assertThat(refused.text()).isEqualTo(TOO_LARGE);
        assertThat(refused.headers()).containsEntry("connection", "close");
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Function.ResponseSizeTooLarge");
            assertThat(text(e.body())).isEqualTo("{\"errorMessage\":\"Response payload size (1000000000 bytes) exceeded maximum "
                    + "allowed payload size (6291556 bytes).\",\"errorType\":\"Function.ResponseSizeTooLarge\"}");
        });
        // The server waits for the rest of the body it drains; the runtime hangs up, and that thread is free again.
        runtime.close();

        assertServesAnotherInvocation();
    }

    @Test
    void shouldLetAClientThatSendsItsWholeOversizedBodyBeforeReadingReadThe413() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "eager");

        // As python's http.client posts: all of the body, then the answer is read. Closing with the body unread would
        // reset the connection, and the reset would take the 413 with it.
        byte[] body = new byte[RuntimeApiServer.MAX_PAYLOAD_BYTES + 1];
        runtime.send("POST " + API + "invocation/eager/response HTTP/1.1\nHost: x\nContent-Length: " + body.length, body);
        RawHttpConnection.Response refused = runtime.read();
        assertThat(refused.status()).isEqualTo(413);
        assertThat(refused.text()).isEqualTo(TOO_LARGE);
        assertThat(runtime.closedByServer()).isTrue();
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class,
                e -> assertThat(e.errorType()).isEqualTo("Function.ResponseSizeTooLarge"));
    }

    @Test
    void shouldRefuseAChunkedResponseOneByteOverTheCap() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "chunky");

        runtime.send("POST " + API + "invocation/chunky/response HTTP/1.1\nHost: x\nTransfer-Encoding: chunked");
        Thread writer = sendChunked(runtime, RuntimeApiServer.MAX_PAYLOAD_BYTES + 1);
        RawHttpConnection.Response refused = runtime.read();
        assertFinished(writer);
        assertThat(refused.status()).isEqualTo(413);
        assertThat(refused.text()).isEqualTo(TOO_LARGE);
        assertThat(refused.headers()).containsEntry("connection", "close");
        // A chunked body declares no size: the size named is what was read before refusing, the cap + 1.
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Function.ResponseSizeTooLarge");
            assertThat(text(e.body())).contains("Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).");
        });

        assertServesAnotherInvocation();
    }

    @Test
    void shouldAcceptAChunkedResponseOfExactlyTheCapAndKeepTheConnection() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "full");

        runtime.send("POST " + API + "invocation/full/response HTTP/1.1\nHost: x\nTransfer-Encoding: chunked");
        Thread writer = sendChunked(runtime, RuntimeApiServer.MAX_PAYLOAD_BYTES);
        RawHttpConnection.Response accepted = runtime.read();
        assertFinished(writer);
        assertThat(accepted.status()).isEqualTo(202);
        assertThat(accepted.headers()).doesNotContainKey("connection");
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.Success.class,
                s -> assertThat(s.payload()).hasSize(RuntimeApiServer.MAX_PAYLOAD_BYTES).containsOnly((byte) 'x'));

        CompletableFuture<InvocationOutcome> second = handOver(runtime, "same-connection");
        runtime.send("POST " + API + "invocation/same-connection/response HTTP/1.1\nHost: x\nContent-Length: 2", "ok".getBytes(StandardCharsets.US_ASCII));
        assertThat(runtime.read().status()).isEqualTo(202);
        assertThat(second.get(10, TimeUnit.SECONDS)).isInstanceOf(InvocationOutcome.Success.class);
    }

    @Test
    void shouldRefuseAnErrorBodyOverTheErrorCapAndStillFailTheInvocationWithItsHeaderType() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "loud");

        byte[] body = new byte[RuntimeApiServer.MAX_ERROR_BYTES + 1];
        Arrays.fill(body, (byte) 'e');
        runtime.send("POST " + API + "invocation/loud/error HTTP/1.1\nHost: x\nLambda-Runtime-Function-Error-Type: Unhandled\n"
                + "Content-Length: " + body.length, body);
        RawHttpConnection.Response refused = runtime.read();
        assertThat(refused.status()).isEqualTo(413);
        assertThat(refused.text()).isEqualTo(ERROR_TOO_LARGE);
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Unhandled");
            assertThat(text(e.body())).isEqualTo("{\"errorMessage\":\"\",\"errorType\":\"Unhandled\"}");
        });

        assertServesAnotherInvocation();
    }

    @Test
    void shouldAcceptAnErrorBodyOfExactlyTheErrorCap() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "verbose");

        String prefix = "{\"errorMessage\":\"";
        String suffix = "\",\"errorType\":\"ValueError\"}";
        String error = prefix + "m".repeat(RuntimeApiServer.MAX_ERROR_BYTES - prefix.length() - suffix.length()) + suffix;
        runtime.send("POST " + API + "invocation/verbose/error HTTP/1.1\nHost: x\nContent-Length: " + error.length(),
                error.getBytes(StandardCharsets.US_ASCII));
        assertThat(runtime.read().status()).isEqualTo(202);
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("ValueError");
            assertThat(e.body()).hasSize(RuntimeApiServer.MAX_ERROR_BYTES);
        });
    }

    @Test
    void shouldRefuseAChunkedInitErrorOverTheErrorCapAndStillEndInit() throws Exception {
        RawHttpConnection runtime = connect();
        runtime.send("POST " + API + "init/error HTTP/1.1\nHost: x\nLambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\n"
                + "Transfer-Encoding: chunked");
        Thread writer = sendChunked(runtime, RuntimeApiServer.MAX_ERROR_BYTES + 1);
        RawHttpConnection.Response refused = runtime.read();
        assertFinished(writer);
        assertThat(refused.status()).isEqualTo(413);
        assertThat(refused.text()).isEqualTo(ERROR_TOO_LARGE);
        assertThat(api.awaitInit(Duration.ofSeconds(10))).isInstanceOfSatisfying(InitOutcome.InitError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Runtime.ImportModuleError");
            assertThat(e.errorMessage()).isEmpty();
            assertThat(e.rawBody()).isEmpty();
        });
    }

    @Test
    void shouldRefuseADeclaredOversizedInitErrorUnread() throws Exception {
        RawHttpConnection runtime = connect();
        runtime.send("POST " + API + "init/error HTTP/1.1\nHost: x\nLambda-Runtime-Function-Error-Type: Runtime.ExitError\n"
                + "Content-Length: " + (RuntimeApiServer.MAX_ERROR_BYTES + 1));
        RawHttpConnection.Response refused = runtime.read();
        assertThat(refused.status()).isEqualTo(413);
        assertThat(refused.text()).isEqualTo(ERROR_TOO_LARGE);
        assertThat(api.awaitInit(Duration.ofSeconds(10))).isInstanceOfSatisfying(InitOutcome.InitError.class,
                e -> assertThat(e.errorType()).isEqualTo("Runtime.ExitError"));
    }

    /** A new connection's /next gets a new invocation, and its response completes it. */
    private void assertServesAnotherInvocation() throws Exception {
        RawHttpConnection runtime = connect();
        CompletableFuture<InvocationOutcome> outcome = handOver(runtime, "next-one");
        runtime.send("POST " + API + "invocation/next-one/response HTTP/1.1\nHost: x\nContent-Length: 2", "{}".getBytes(StandardCharsets.US_ASCII));
        assertThat(runtime.read().status()).isEqualTo(202);
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.Success.class,
                s -> assertThat(text(s.payload())).isEqualTo("{}"));
    }

    /** Invokes {@code requestId} and has {@code runtime} take it with /next. */
    private CompletableFuture<InvocationOutcome> handOver(RawHttpConnection runtime, String requestId) throws IOException {
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation(requestId));
        runtime.send("GET " + API + "invocation/next HTTP/1.1\nHost: x");
        RawHttpConnection.Response event = runtime.read();
        assertThat(event.status()).isEqualTo(200);
        assertThat(event.headers()).containsEntry("lambda-runtime-aws-request-id", requestId);
        return outcome;
    }

    /**
     * Sends {@code size} bytes of 'x' in 64 KiB chunks and the last chunk, from a thread of its own: the refusal
     * may come, and be read, before the body is all sent.
     */
    private static Thread sendChunked(RawHttpConnection connection, int size) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] chunk = new byte[64 * 1024];
        Arrays.fill(chunk, (byte) 'x');
        for (int left = size; left > 0; left -= chunk.length) {
            int n = Math.min(left, chunk.length);
            body.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            body.write(chunk, 0, n);
            body.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        body.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return Thread.ofPlatform().start(() -> {
            try {
                connection.sendRaw(body.toByteArray());
            } catch (IOException refusedMidway) {
                // The server may close once it has refused the body.
            }
        });
    }

    private static void assertFinished(Thread writer) throws InterruptedException {
        assertThat(writer.join(RawHttpConnection.TIMEOUT)).as("the body was sent, or refused").isTrue();
    }

    private RawHttpConnection connect() throws IOException {
        RawHttpConnection connection = RawHttpConnection.open(api.address());
        connections.add(connection);
        return connection;
    }

    private static Invocation invocation(String id) {
        return new Invocation(id, "{}".getBytes(StandardCharsets.UTF_8), System.currentTimeMillis() + 60_000, ARN,
                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0", null, null);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
