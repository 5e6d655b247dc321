package io.hyperplane.control.lambda;

import com.sun.net.httpserver.HttpServer;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.Payload;
import io.hyperplane.control.fleet.WorkerRegistry;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Event invokes through {@link InvocationService} to a fake worker (a loopback HTTP server that
 * answers the fleet's InvokeResult JSON), on embedded H2: the store and the service's own
 * mapping of workers' answers, throttles and missing workers to Lambda's retry rules.
 */
@Timeout(60)
class InvocationServiceEventsTest {
    private static final String ACCOUNT = "123456789012";
    private static final String REGION = "us-east-1";
    private static final InvocationService.Settings SETTINGS = InvocationService.Settings.DEFAULTS.withEventDelayScale(0.001);

    private Database db;
    private HttpServer worker;
    private final WorkerRegistry workers = new WorkerRegistry(Duration.ofMinutes(5), Clock.systemUTC());
    private final List<InvokeRequest> received = new CopyOnWriteArrayList<>();
    /** Held while the test wants the worker's answers to wait (a control plane killed meanwhile). */
    private volatile CountDownLatch hold = new CountDownLatch(0);
    private InvocationService service;

    @BeforeEach
    void start() throws Exception {
        db = Database.open("jdbc:h2:mem:invocations-" + UUID.randomUUID(), "sa", "");
        db.inTransaction(c -> {
            Instant now = Instant.now();
            Sql.update(c, "INSERT INTO accounts (id, created_at) VALUES (?, ?)", ACCOUNT, Timestamp.from(now));
            FunctionStore.insert(c, ACCOUNT, "f", FunctionLifecycle.create(now), now);
            Sql.update(c, "UPDATE functions SET state = 'Active', last_update_status = 'Successful' WHERE name = 'f'");
            VersionStore.put(c, ACCOUNT, new VersionStore.Version("f", FunctionStore.LATEST, "python3.12", "app.handler",
                    "arn:aws:iam::" + ACCOUNT + ":role/r", "", 3, 128, 512, null, "sha", 1, List.of(), List.of(), null, "rev", now), "UEs=");
            return null;
        });
        worker = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        worker.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        worker.createContext("/invoke", exchange -> {
            InvokeRequest request = FleetJson.decode(exchange.getRequestBody().readAllBytes(), InvokeRequest.class);
            received.add(request);
            try {
                hold.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            String payload = new String(request.payload().bytes(), StandardCharsets.UTF_8);
            InvokeResult result = payload.contains("fail")
                    ? new InvokeResult.FunctionError("Unhandled", new Payload("{\"errorMessage\":\"asked to fail\"}".getBytes(StandardCharsets.UTF_8)), "")
                    : new InvokeResult.Success(new Payload("\"ok\"".getBytes(StandardCharsets.UTF_8)), "");
            byte[] body = FleetJson.encode(result).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        worker.start();
    }

    @AfterEach
    void stop() {
        hold.countDown();
        if (service != null) {
            service.close();
        }
        worker.stop(0);
        db.close();
    }

    private void registerWorker() {
        workers.heartbeat("w", URI.create("http://127.0.0.1:" + worker.getAddress().getPort()), "127.0.0.1", "shared", 0);
    }

    private InvocationService service() {
        service = new InvocationService(db, workers, "token", 1000, SETTINGS, Clock.systemUTC());
        return service;
    }

    private InvocationService.Target target() {
        return db.inTransaction(c -> new InvocationService.Target(ACCOUNT, REGION, VersionStore.get(c, ACCOUNT, "f", FunctionStore.LATEST).orElseThrow(),
                FunctionStore.get(c, ACCOUNT, "f").orElseThrow().reservedConcurrency(), List.of(), 0));
    }

    private LambdaApi.Response invokeEvent(InvocationService s, String payload) {
        return s.invoke(target(), Map.of("x-amz-invocation-type", "Event"), payload.getBytes(StandardCharsets.UTF_8)).join();
    }

    private EventStore.Counts counts() {
        return service.eventCounts(ACCOUNT).stream().filter(f -> f.function().equals("f")).findFirst()
                .orElse(new EventStore.Counts("f", 0, 0, 0, 0, 0, 0));
    }

    private long stored() {
        return db.inTransaction(c -> Sql.count(c, "SELECT COUNT(*) FROM event_invocations"));
    }

    @Test
    void shouldHaveCommittedTheEventWhenItAnswers202AndRunItAfterARestart() {
        registerWorker();
        hold = new CountDownLatch(1);
        InvocationService first = service();
        LambdaApi.Response accepted = invokeEvent(first, "{\"n\":1}");
        assertThat(accepted.status()).isEqualTo(202);
        String requestId = accepted.headers().get("x-amzn-RequestId");
        assertThat(stored()).as("in the store when the 202 is sent").isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
        first.close(); // killed while its worker runs the event: no answer reaches the store

        hold.countDown();
        service();
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().succeeded() == 1);
        assertThat(received).extracting(InvokeRequest::requestId).containsExactly(requestId, requestId);
        assertThat(counts()).isEqualTo(new EventStore.Counts("f", 0, 0, 1, 0, 0, 1));
        assertThat(stored()).isZero();
    }

    @Test
    void shouldRetryAFunctionErrorTheWorkerReportsTwice() {
        registerWorker();
        assertThat(invokeEvent(service(), "{\"action\":\"fail\"}").status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().dead() == 1);
        assertThat(received).hasSize(3);
        assertThat(counts()).isEqualTo(new EventStore.Counts("f", 0, 0, 0, 2, 1, 0));
    }

    @Test
    void shouldKeepRetryingWhileNoWorkerIsAvailable() {
        InvocationService s = service();
        invokeEvent(s, "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().retried() >= 3);
        assertThat(counts().dead()).as("a system error does not use up the retries").isZero();
        registerWorker();
        await().atMost(Duration.ofSeconds(20)).until(() -> counts().succeeded() == 1);
        assertThat(received).hasSize(1);
    }

    @Test
    void shouldRetryAThrottledEventUntilTheFunctionHasConcurrency() {
        registerWorker();
        db.inTransaction(c -> {
            FunctionStore.reserveConcurrency(c, ACCOUNT, "f", 0); // every attempt is throttled
            return null;
        });
        InvocationService s = service();
        invokeEvent(s, "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().retried() >= 3);
        assertThat(received).isEmpty();
        db.inTransaction(c -> {
            FunctionStore.reserveConcurrency(c, ACCOUNT, "f", null);
            return null;
        });
        await().atMost(Duration.ofSeconds(20)).until(() -> counts().succeeded() == 1);
        assertThat(counts().dead()).isZero();
    }

    @Test
    void shouldRefuseAnEventPastTheAccountsBound() {
        service = new InvocationService(db, workers, "token", 1000, SETTINGS.withEventsPerAccount(1), Clock.systemUTC());
        hold = new CountDownLatch(1);
        registerWorker();
        invokeEvent(service, "{}");
        LambdaError refused = null;
        try {
            invokeEvent(service, "{}");
        } catch (LambdaError e) {
            refused = e;
        }
        assertThat(refused).isNotNull();
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.type()).isEqualTo("TooManyRequestsException");
        assertThat(stored()).isEqualTo(1);
    }
}
