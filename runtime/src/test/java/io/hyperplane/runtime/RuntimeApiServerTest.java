package io.hyperplane.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The Runtime API against AWS's contract, spoken to as a runtime would, over loopback. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RuntimeApiServerTest {

    private static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn";
    private static final String TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private RuntimeApiServer api;

    @BeforeEach
    void start() throws Exception {
        api = RuntimeApiServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void stop() {
        api.close();
    }

    @Test
    void shouldHandOverTheEventWithAwsHeadersAndCompleteOnResponse() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        assertThat(api.awaitInit(Duration.ofSeconds(10))).isInstanceOf(InitOutcome.Ready.class);
        assertThat(api.initDoneAt()).isPresent();
        assertThat(api.initDoneNanos()).isPresent();

        CompletableFuture<InvocationOutcome> outcome = api.invoke(new Invocation("req-1", "{\"a\":1}".getBytes(StandardCharsets.UTF_8),
                1_700_000_000_123L, ARN, TRACE, "{\"custom\":{}}", "{\"cognitoIdentityId\":\"id\"}"));
        HttpResponse<String> event = next.get(10, TimeUnit.SECONDS);
        assertThat(event.statusCode()).isEqualTo(200);
        assertThat(event.body()).isEqualTo("{\"a\":1}");
        assertThat(event.headers().firstValue("Lambda-Runtime-Aws-Request-Id")).contains("req-1");
        assertThat(event.headers().firstValue("Lambda-Runtime-Deadline-Ms")).contains("1700000000123");
        assertThat(event.headers().firstValue("Lambda-Runtime-Invoked-Function-Arn")).contains(ARN);
        assertThat(event.headers().firstValue("Lambda-Runtime-Trace-Id")).contains(TRACE);
        assertThat(event.headers().firstValue("Lambda-Runtime-Client-Context")).contains("{\"custom\":{}}");
        assertThat(event.headers().firstValue("Lambda-Runtime-Cognito-Identity")).contains("{\"cognitoIdentityId\":\"id\"}");
        assertThat(outcome).isNotDone();

        HttpResponse<String> accepted = post("invocation/req-1/response", "\"done\"");
        assertThat(accepted.statusCode()).isEqualTo(202);
        assertThat(accepted.body()).isEqualTo("{\"status\":\"OK\"}");
        InvocationOutcome done = outcome.get(10, TimeUnit.SECONDS);
        assertThat(done).isInstanceOfSatisfying(InvocationOutcome.Success.class,
                s -> assertThat(new String(s.payload(), StandardCharsets.UTF_8)).isEqualTo("\"done\""));
    }

    @Test
    void shouldOmitClientContextAndCognitoHeadersWhenAbsent() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        api.invoke(invocation("req-2"));
        HttpResponse<String> event = next.get(10, TimeUnit.SECONDS);
        assertThat(event.headers().firstValue("Lambda-Runtime-Client-Context")).isEmpty();
        assertThat(event.headers().firstValue("Lambda-Runtime-Cognito-Identity")).isEmpty();
    }

    @Test
    void shouldBlockNextUntilInvoke() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        api.awaitInit(Duration.ofSeconds(10));
        // The long-poll is open and unanswered; only invoke() releases it.
        assertThat(next).isNotDone();
        api.invoke(invocation("req-3"));
        assertThat(next.get(10, TimeUnit.SECONDS).headers().firstValue("Lambda-Runtime-Aws-Request-Id")).contains("req-3");
    }

    @Test
    void shouldQueueAnInvokeMadeBeforeTheFirstNext() throws Exception {
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation("early"));
        HttpResponse<String> event = get("invocation/next").get(10, TimeUnit.SECONDS);
        assertThat(event.headers().firstValue("Lambda-Runtime-Aws-Request-Id")).contains("early");
        post("invocation/early/response", "{}");
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOf(InvocationOutcome.Success.class);
    }

    @Test
    void shouldRejectUnknownAndFinishedRequestIdsAsAwsDoes() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        api.invoke(invocation("req-4"));
        next.get(10, TimeUnit.SECONDS);

        HttpResponse<String> unknown = post("invocation/nope/response", "{}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(unknown.body()).isEqualTo("{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");

        assertThat(post("invocation/req-4/response", "{}").statusCode()).isEqualTo(202);
        HttpResponse<String> twice = post("invocation/req-4/response", "{}");
        assertThat(twice.statusCode()).isEqualTo(400);
        assertThat(twice.body()).contains("\"errorType\":\"InvalidRequestID\"");
        assertThat(post("invocation/req-4/error", "{}").statusCode()).isEqualTo(400);
    }

    @Test
    void shouldReportAFunctionErrorWithTheBodyAsPosted() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation("req-5"));
        next.get(10, TimeUnit.SECONDS);
        String error = "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\",\"stackTrace\":[\"  File x\"]}";
        HttpResponse<String> accepted = send(HttpRequest.newBuilder(uri("invocation/req-5/error"))
                .header("Lambda-Runtime-Function-Error-Type", "Unhandled")
                .POST(HttpRequest.BodyPublishers.ofString(error)).build());
        assertThat(accepted.statusCode()).isEqualTo(202);
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("ValueError");
            assertThat(new String(e.body(), StandardCharsets.UTF_8)).isEqualTo(error);
        });
    }

    @Test
    void shouldTakeTheErrorTypeFromTheHeaderWhenTheBodyIsEmpty() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation("req-6"));
        next.get(10, TimeUnit.SECONDS);
        send(HttpRequest.newBuilder(uri("invocation/req-6/error")).header("Lambda-Runtime-Function-Error-Type", "Runtime.ExitError")
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Runtime.ExitError");
            assertThat(new String(e.body(), StandardCharsets.UTF_8)).contains("\"errorType\":\"Runtime.ExitError\"");
        });
    }

    @Test
    void shouldAcceptInitErrorDuringInitAndFailTheInvoke() throws Exception {
        String body = "{\"errorMessage\":\"Unable to import module 'x'\",\"errorType\":\"Runtime.ImportModuleError\",\"stackTrace\":[]}";
        HttpResponse<String> accepted = send(HttpRequest.newBuilder(uri("init/error"))
                .header("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertThat(accepted.statusCode()).isEqualTo(202);
        assertThat(api.awaitInit(Duration.ofSeconds(5))).isInstanceOfSatisfying(InitOutcome.InitError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Runtime.ImportModuleError");
            assertThat(e.errorMessage()).isEqualTo("Unable to import module 'x'");
            assertThat(new String(e.rawBody(), StandardCharsets.UTF_8)).isEqualTo(body);
        });
        assertThat(api.invoke(invocation("after-init-error")).get(5, TimeUnit.SECONDS))
                .isInstanceOfSatisfying(InvocationOutcome.FunctionError.class,
                        e -> assertThat(e.errorType()).isEqualTo("Runtime.ImportModuleError"));
        HttpResponse<String> next = get("invocation/next").get(10, TimeUnit.SECONDS);
        assertThat(next.statusCode()).isEqualTo(403);
        assertThat(next.body()).contains("\"errorType\":\"InvalidStateTransition\"");
    }

    @Test
    void shouldForbidInitErrorAfterInit() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        api.awaitInit(Duration.ofSeconds(10));
        HttpResponse<String> late = post("init/error", "{\"errorMessage\":\"x\",\"errorType\":\"Runtime.Unknown\"}");
        assertThat(late.statusCode()).isEqualTo(403);
        assertThat(late.body()).isEqualTo("{\"errorMessage\":\"State transition from Ready to InitError failed for runtime."
                + " Error: State transition is not allowed\",\"errorType\":\"InvalidStateTransition\"}");
        assertThat(next).isNotDone();
    }

    @Test
    void shouldRejectAnOversizedResponseAndFailTheInvocation() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation("big"));
        next.get(10, TimeUnit.SECONDS);
        byte[] tooBig = new byte[RuntimeApiServer.MAX_PAYLOAD_BYTES + 1];
        HttpResponse<String> rejected = send(HttpRequest.newBuilder(uri("invocation/big/response"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(tooBig)).build());
        assertThat(rejected.statusCode()).isEqualTo(413);
        assertThat(rejected.body()).isEqualTo("{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\","
                + "\"errorType\":\"RequestEntityTooLarge\"}");
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Function.ResponseSizeTooLarge");
            assertThat(new String(e.body(), StandardCharsets.UTF_8)).contains("Response payload size (6291557 bytes) exceeded "
                    + "maximum allowed payload size (6291556 bytes).");
        });
    }

    @Test
    void shouldAcceptAResponseOfExactlyTheLimit() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation("limit"));
        next.get(10, TimeUnit.SECONDS);
        HttpResponse<String> accepted = send(HttpRequest.newBuilder(uri("invocation/limit/response"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[RuntimeApiServer.MAX_PAYLOAD_BYTES])).build());
        assertThat(accepted.statusCode()).isEqualTo(202);
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.Success.class,
                s -> assertThat(s.payload()).hasSize(RuntimeApiServer.MAX_PAYLOAD_BYTES));
    }

    @Test
    void shouldAllowOneInvocationAtATime() throws Exception {
        api.invoke(invocation("first"));
        assertThatThrownBy(() -> api.invoke(invocation("second")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("first");
    }

    @Test
    void shouldAnswerALateResponseToAnAbandonedInvocationWithInvokeTimeout() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        CompletableFuture<InvocationOutcome> outcome = api.invoke(invocation("slow"));
        next.get(10, TimeUnit.SECONDS);
        assertThat(api.abandon("slow")).isTrue();
        assertThat(outcome).isCancelled();
        HttpResponse<String> late = post("invocation/slow/response", "{}");
        assertThat(late.statusCode()).isEqualTo(410);
        assertThat(late.body()).isEqualTo("{\"errorMessage\":\"Invoke timeout\",\"errorType\":\"InvokeTimeout\"}");
        // The environment can serve again.
        CompletableFuture<HttpResponse<String>> again = get("invocation/next");
        CompletableFuture<InvocationOutcome> second = api.invoke(invocation("after"));
        assertThat(again.get(10, TimeUnit.SECONDS).headers().firstValue("Lambda-Runtime-Aws-Request-Id")).contains("after");
        post("invocation/after/response", "1");
        assertThat(second.get(10, TimeUnit.SECONDS)).isInstanceOf(InvocationOutcome.Success.class);
    }

    @Test
    void shouldAnswerUnknownPaths404AndWrongMethods405() throws Exception {
        assertThat(send(HttpRequest.newBuilder(uri("invocation/next/extra")).GET().build()).statusCode()).isEqualTo(404);
        assertThat(send(HttpRequest.newBuilder(URI.create(base() + "/2018-06-01/other")).GET().build()).statusCode()).isEqualTo(404);
        assertThat(send(HttpRequest.newBuilder(uri("invocation/x/other")).POST(HttpRequest.BodyPublishers.noBody()).build())
                .statusCode()).isEqualTo(404);
        assertThat(post("invocation/next", "{}").statusCode()).isEqualTo(405);
        assertThat(send(HttpRequest.newBuilder(uri("invocation/x/response")).GET().build()).statusCode()).isEqualTo(405);
        assertThat(send(HttpRequest.newBuilder(uri("init/error")).GET().build()).statusCode()).isEqualTo(405);
    }

    @Test
    void shouldCloseWhileANextIsPending() throws Exception {
        CompletableFuture<HttpResponse<String>> next = get("invocation/next");
        api.awaitInit(Duration.ofSeconds(10));
        Thread closer = Thread.ofPlatform().start(api::close);
        closer.join(Duration.ofSeconds(10));
        assertThat(closer.isAlive()).as("close() returned").isFalse();
        // The long-poll ends one way or the other: a 500 or a closed connection.
        await().atMost(Duration.ofSeconds(10)).until(next::isDone);
        assertThatThrownBy(() -> api.invoke(invocation("late"))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldReportTimedOutWhenTheRuntimeNeverCalls() throws Exception {
        assertThat(api.awaitInit(Duration.ofMillis(50))).isInstanceOf(InitOutcome.TimedOut.class);
        assertThat(api.initDoneAt()).isEmpty();
    }

    private Invocation invocation(String id) {
        return new Invocation(id, "{}".getBytes(StandardCharsets.UTF_8), System.currentTimeMillis() + 60_000, ARN, TRACE, null, null);
    }

    private String base() {
        return "http://127.0.0.1:" + api.address().getPort();
    }

    private URI uri(String path) {
        return URI.create(base() + "/2018-06-01/runtime/" + path);
    }

    private CompletableFuture<HttpResponse<String>> get(String path) {
        return http.sendAsync(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private HttpResponse<String> send(HttpRequest request) throws Exception {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
