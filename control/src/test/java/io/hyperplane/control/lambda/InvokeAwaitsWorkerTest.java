package io.hyperplane.control.lambda;

import com.sun.net.httpserver.HttpServer;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.LambdaException;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Readiness that means it (issue 15): an Invoke that arrives while no worker is live waits for one,
 * up to the function's timeout, and only then fails; {@code GET /health} says ready only when an
 * Invoke would succeed.
 */
@Timeout(60)
class InvokeAwaitsWorkerTest {
    @TempDir
    Path dir;
    private LambdaWorld w;
    private HttpServer worker;
    private URI workerUrl;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)));
        worker = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        worker.createContext("/invoke", exchange -> {
            byte[] answer = "{\"outcome\":\"success\",\"payload\":\"Im9rIg==\"}".getBytes(StandardCharsets.UTF_8); // "ok"
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        worker.start();
        workerUrl = URI.create("http://127.0.0.1:" + worker.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        worker.stop(0);
        w.close();
        http.close();
    }

    private void createActive(String name, int timeoutSeconds) {
        w.create(name, w.role("fn-role"), null, null, b -> b.timeout(timeoutSeconds));
        await().atMost(Duration.ofSeconds(30)).until(() -> "Active".equals(w.configuration(name).stateAsString()));
    }

    private HttpResponse<String> health() throws Exception {
        return http.send(HttpRequest.newBuilder(w.server.endpoint().resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldRunAnInvokeSentBeforeAnyWorkerOnceOneRegisters() {
        createActive("fn", 20);
        CompletableFuture<InvokeResponse> invoke = CompletableFuture.supplyAsync(() -> w.lambda.invoke(b -> b.functionName("fn")));
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> !invoke.isDone());

        w.server.workers().heartbeat("late", workerUrl, "127.0.0.1", "shared", 0);

        InvokeResponse answer = invoke.join();
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.functionError()).isNull();
        assertThat(answer.payload().asUtf8String()).isEqualTo("\"ok\"");
    }

    @Test
    void shouldAnswerServiceExceptionSayingWhatToDoOnceTheFunctionsTimeoutPassesWithNoWorker() {
        createActive("fn", 1);
        long start = System.nanoTime();
        LambdaException e = catchThrowableOfType(LambdaException.class, () -> w.lambda.invoke(b -> b.functionName("fn")));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("waited the function's timeout").isGreaterThanOrEqualTo(Duration.ofSeconds(1));
        assertThat(e.statusCode()).isEqualTo(500);
        assertThat(e.awsErrorDetails().errorCode()).isEqualTo("ServiceException");
        assertThat(e.awsErrorDetails().errorMessage()).isEqualTo("No worker became available to run function fn within its timeout of 1 s."
                + " Start one (hyperplane worker) or check that the workers reach the control plane, then invoke again.");
    }

    @Test
    void shouldSayReadyOnlyWithALiveNodeAndALiveWorker() throws Exception {
        HttpResponse<String> bare = health();
        assertThat(bare.statusCode()).isEqualTo(503);
        assertThat(bare.body()).contains("\"ready\":false").contains("no forwarder node is live").contains("no worker is live");

        w.heartbeat("n1", 0);
        HttpResponse<String> nodeOnly = health();
        assertThat(nodeOnly.statusCode()).isEqualTo(503);
        assertThat(nodeOnly.body()).doesNotContain("no forwarder node is live").contains("no worker is live");

        w.server.workers().heartbeat("w", workerUrl, "198.18.0.11", "shared", 0);
        HttpResponse<String> ready = health();
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("{\"ready\":true,\"liveNodes\":1,\"liveWorkers\":{\"shared\":1},\"missing\":[]}");
    }
}
