package io.hyperplane.control.lambda;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.control.server.TenantRequests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.DefaultRetryStrategy;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.State;
import software.amazon.awssdk.services.lambda.model.TooManyRequestsException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One account's load and the rest of the control plane. Synchronous invocations waiting for their
 * worker hold no request thread, so the fleet's heartbeats and another account's calls are served
 * meanwhile; an account past its bound of API requests in flight gets each API's throttling
 * error, and another account does not. (The real system under the same load, with a worker whose
 * functions sleep: cli's TenantLoadEndToEndTest.)
 */
@Timeout(120)
class TenantLoadTest {
    /** More than the HTTP server's 250 request threads: a blocking Invoke would take every one. */
    private static final int HELD_INVOKES = 300;
    /** A node heartbeats every second and is dead after three missed: an answer must come well within that. */
    private static final Duration HEARTBEAT_DEADLINE = Duration.ofSeconds(2);

    @TempDir
    Path dir;
    private LambdaWorld w;
    private HttpServer worker;
    private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<AutoCloseable> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        heartbeats.shutdownNow();
        if (worker != null) {
            worker.stop(0);
        }
        for (AutoCloseable c : clients) {
            c.close();
        }
        http.shutdownNow();
        if (w != null) {
            w.close();
        }
    }

    @Test
    void shouldAnswerTheFleetAndAnotherAccountWhile300InvokesWaitForTheirWorker() throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)));
        w.create("slow", w.role("slow-role"), null, null);
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("slow").state() == State.ACTIVE);
        // A worker that takes every invocation and answers none until the test says so.
        ConcurrentLinkedQueue<HttpExchange> held = new ConcurrentLinkedQueue<>();
        worker = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), HELD_INVOKES);
        worker.createContext("/invoke", exchange -> {
            exchange.getRequestBody().readAllBytes();
            held.add(exchange);
        });
        worker.start();
        URI workerUrl = URI.create("http://127.0.0.1:" + worker.getAddress().getPort());
        String workerHeartbeat = "{\"url\":\"" + workerUrl + "\",\"underlayIp\":\"198.18.0.11\",\"networkModel\":\"shared\",\"environments\":0}";
        assertThat(w.node("PUT", "/hyperplane/v1/workers/fake", workerHeartbeat).statusCode()).isEqualTo(200);
        // Kept live in the registry (liveness is 3 s) whatever the test's own heartbeats below do.
        heartbeats.scheduleAtFixedRate(() -> w.server.workers().heartbeat("fake", workerUrl, "198.18.0.11", "shared", 0), 0, 500, TimeUnit.MILLISECONDS);

        List<CompletableFuture<HttpResponse<String>>> invokes = new ArrayList<>();
        for (int i = 0; i < HELD_INVOKES; i++) {
            invokes.add(invoke(w.server.defaultCredential(), "slow"));
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(held).as("Invokes that reached the worker").hasSize(HELD_INVOKES));
        assertThat(w.server.invocations().unreservedInFlight(w.account())).isEqualTo(HELD_INVOKES);

        for (String[] fleet : new String[][] {
                {"/hyperplane/v1/nodes/n1", "{\"underlayIp\":\"198.18.0.9\",\"port\":4789,\"appliedVersion\":0,\"enis\":[]}"},
                {"/hyperplane/v1/workers/fake", workerHeartbeat}}) {
            Instant sent = Instant.now();
            assertThat(w.node("PUT", fleet[0], fleet[1]).statusCode()).isEqualTo(200);
            assertThat(Duration.between(sent, Instant.now())).as("heartbeat %s answered", fleet[0]).isLessThan(HEARTBEAT_DEADLINE);
        }
        Credential other = w.server.accounts().create();
        IamClient otherIam = client(IamClient.builder().region(Region.AWS_GLOBAL), other);
        LambdaClient otherLambda = client(LambdaClient.builder().region(Region.US_EAST_1), other);
        String role = otherIam.createRole(b -> b.roleName("r").assumeRolePolicyDocument(LambdaWorld.TRUST)).role().arn();
        otherLambda.createFunction(b -> b.functionName("other").role(role).runtime("provided.al2023").handler("bootstrap")
                .code(c -> c.zipFile(SdkBytes.fromByteArray(LambdaWorld.ZIP))));
        await().atMost(Duration.ofSeconds(30)).until(() -> otherLambda.getFunctionConfiguration(b -> b.functionName("other")).state() == State.ACTIVE);
        assertThat(invokes).as("all of them were still waiting").noneMatch(CompletableFuture::isDone);

        byte[] answer = "{\"outcome\":\"success\",\"payload\":\"InNsZXB0Ig==\"}".getBytes(StandardCharsets.UTF_8);
        for (HttpExchange exchange : held) {
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        }
        for (CompletableFuture<HttpResponse<String>> invoke : invokes) {
            HttpResponse<String> response = invoke.get(30, TimeUnit.SECONDS);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("\"slept\"");
        }
        assertThat(w.server.invocations().unreservedInFlight(w.account())).as("every slot released").isZero();
    }

    /**
     * The JDK client's {@code sendAsync} completes its futures on the common ForkJoinPool: a test
     * (or anything else in the process) blocking there would hold every Invoke's answer back.
     */
    @Test
    void shouldAnswerAnInvokeWhateverHoldsTheCommonPool() throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)));
        w.create("fn", w.role("fn-role"), null, null);
        await().atMost(Duration.ofSeconds(30)).until(() -> w.configuration("fn").state() == State.ACTIVE);
        worker = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        worker.createContext("/invoke", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] answer = "{\"outcome\":\"success\",\"payload\":\"InNsZXB0Ig==\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        worker.start();
        URI workerUrl = URI.create("http://127.0.0.1:" + worker.getAddress().getPort());
        heartbeats.scheduleAtFixedRate(() -> w.server.workers().heartbeat("fake", workerUrl, "198.18.0.11", "shared", 0), 0, 500, TimeUnit.MILLISECONDS);

        Pipe never = Pipe.open();
        List<CompletableFuture<Void>> blocked = new ArrayList<>();
        for (int i = 0; i < Math.max(1, ForkJoinPool.getCommonPoolParallelism()); i++) {
            blocked.add(CompletableFuture.runAsync(() -> {
                try {
                    never.source().read(ByteBuffer.allocate(1)); // blocking I/O: the pool does not make up for it
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }));
        }
        try {
            // Sent with send(): this test's own client must not wait on the pool it blocks.
            HttpResponse<String> response = http.send(invokeRequest(w.server.defaultCredential(), "fn", Duration.ofSeconds(10)),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("\"slept\"");
        } finally {
            never.sink().close();
            never.source().close();
        }
        CompletableFuture.allOf(blocked.toArray(CompletableFuture[]::new)).handle((v, e) -> null).get(10, TimeUnit.SECONDS);
    }

    @Test
    void shouldThrottleAnAccountPastItsRequestsInFlightWithEachApisErrorAndNotAnother() throws Exception {
        // One request in flight per account: a few requests at once are past it.
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)
                .withTenantRequests(new TenantRequests.Limits(2, 1, 1))));
        Credential flooder = w.server.defaultCredential();
        Credential other = w.server.accounts().create();
        Ec2Client ec2 = client(Ec2Client.builder().region(Region.US_EAST_1), flooder);
        IamClient iam = client(IamClient.builder().region(Region.AWS_GLOBAL), flooder);
        LambdaClient lambda = client(LambdaClient.builder().region(Region.US_EAST_1), flooder);
        Ec2Client otherEc2 = client(Ec2Client.builder().region(Region.US_EAST_1), other);

        assertThat(floodUntilThrottled(() -> ec2.describeVpcs().vpcs().size(), otherEc2))
                .satisfies(e -> assertThat(e.awsErrorDetails().errorCode()).isEqualTo("RequestLimitExceeded"))
                .satisfies(e -> assertThat(e.statusCode()).isEqualTo(503))
                .satisfies(e -> assertThat(e.awsErrorDetails().errorMessage()).isEqualTo("Request limit exceeded."));
        iam.createRole(b -> b.roleName("r").assumeRolePolicyDocument(LambdaWorld.TRUST));
        assertThat(floodUntilThrottled(() -> iam.getRole(b -> b.roleName("r")).role().roleName().length(), otherEc2))
                .satisfies(e -> assertThat(e.awsErrorDetails().errorCode()).isEqualTo("Throttling"))
                .satisfies(e -> assertThat(e.statusCode()).isEqualTo(400))
                .satisfies(e -> assertThat(e.awsErrorDetails().errorMessage()).isEqualTo("Rate exceeded"));
        AwsServiceException lambdaThrottle = floodUntilThrottled(() -> lambda.listFunctions().functions().size(), otherEc2);
        assertThat(lambdaThrottle.awsErrorDetails().errorCode()).isEqualTo("TooManyRequestsException");
        assertThat(lambdaThrottle.statusCode()).isEqualTo(429);
        assertThat(((TooManyRequestsException) lambdaThrottle).reasonAsString())
                .isEqualTo("CallerRateLimitExceeded");
        assertThat(lambdaThrottle.awsErrorDetails().errorMessage()).isEqualTo("Rate exceeded.");
        assertThat(w.server.tenantRequests().throttled()).as("refusals are counted").isGreaterThanOrEqualTo(3);
    }

    /**
     * Sends bursts of eight concurrent calls until one is throttled, while the other account makes
     * one call at a time (within its bound, never throttled); returns the throttling error.
     */
    private AwsServiceException floodUntilThrottled(Callable<Integer> call, Ec2Client other) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            ConcurrentLinkedQueue<AwsServiceException> throttled = new ConcurrentLinkedQueue<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> burst = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    burst.add(pool.submit(() -> {
                        go.await();
                        try {
                            return call.call();
                        } catch (AwsServiceException e) {
                            throttled.add(e);
                            return -1;
                        }
                    }));
                }
                go.countDown();
                other.describeVpcs(); // throws if the other account were refused
                for (Future<?> f : burst) {
                    f.get(30, TimeUnit.SECONDS);
                }
                return !throttled.isEmpty();
            });
            return throttled.peek();
        } finally {
            pool.shutdownNow();
        }
    }

    /** An SDK client signing as {@code c}, without retries: each response is seen as sent. */
    private <B extends AwsSyncClientBuilder<B, C> & AwsClientBuilder<B, C>, C extends AutoCloseable> C client(B builder, Credential c) {
        C client = builder.endpointOverride(w.server.endpoint())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .overrideConfiguration(o -> o.retryStrategy(DefaultRetryStrategy.doNotRetry()))
                .httpClient(UrlConnectionHttpClient.create()).build();
        clients.add(client);
        return client;
    }

    /** A synchronous Invoke, signed as {@code c}, sent without a thread waiting for it. */
    private CompletableFuture<HttpResponse<String>> invoke(Credential c, String function) {
        return http.sendAsync(invokeRequest(c, function, Duration.ofSeconds(90)), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest invokeRequest(Credential c, String function, Duration timeout) {
        URI uri = w.server.endpoint().resolve("/2015-03-31/functions/" + function + "/invocations");
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        Map<String, String> headers = SigV4Signer.sign("POST", uri.getRawPath(), null, Map.of("host", uri.getHost() + ":" + uri.getPort()),
                body, c, "us-east-1", "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        return request.build();
    }
}
