package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.lambda.EventRetries.Attempt;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The durable event queue on a real store, with a recording fake in place of the workers: run on
 * embedded H2 ({@link EventQueueH2Test}) and on PostgreSQL ({@link EventQueuePostgresTest}).
 * Delays are scaled by {@link #SCALE}: a minute is 60 ms.
 */
@Timeout(120)
abstract class EventQueueContract {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String ACCOUNT = "111111111111";
    static final String OTHER = "222222222222";
    static final String REGION = "us-east-1";
    static final double SCALE = 0.001;

    Database db;
    final MovableClock clock = new MovableClock();
    final List<Ran> ran = new CopyOnWriteArrayList<>();
    /** What each function's attempt answers; a function not here succeeds with "ok". */
    final Map<String, Function<EventStore.Event, Attempt>> behaviour = new ConcurrentHashMap<>();
    private final List<EventQueue> queues = new ArrayList<>();

    /** One attempt the fake saw. */
    record Ran(String requestId, String function, String payload, long atMillis) {
    }

    /** A fresh, migrated store (new per test). */
    abstract Database open() throws Exception;

    /** Real time, plus what a test moved it on by (to age events without waiting). */
    static final class MovableClock extends Clock {
        private final AtomicLong offset = new AtomicLong();

        void advance(Duration d) {
            offset.addAndGet(d.toMillis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(System.currentTimeMillis() + offset.get());
        }
    }

    @BeforeEach
    void start() throws Exception {
        db = open();
        db.inTransaction(c -> {
            for (String account : List.of(ACCOUNT, OTHER)) {
                Sql.update(c, "INSERT INTO accounts (id, created_at) VALUES (?, ?)", account, Timestamp.from(Instant.now()));
            }
            return null;
        });
    }

    @AfterEach
    void stop() {
        queues.forEach(EventQueue::close);
        if (db != null) {
            db.close();
        }
    }

    EventQueue queue(int concurrency, int accountBound) {
        EventQueue q = new EventQueue(db, clock, new EventQueue.Settings(concurrency, SCALE, accountBound, Duration.ofSeconds(90),
                Duration.ofSeconds(5)), this::attempt);
        queues.add(q);
        return q;
    }

    EventQueue started() {
        return queue(8, 1000).start();
    }

    private Attempt attempt(EventStore.Event e) {
        ran.add(new Ran(e.event().requestId(), e.function(), new String(e.event().payload(), StandardCharsets.UTF_8), System.currentTimeMillis()));
        return behaviour.getOrDefault(e.function(), x -> new Attempt.Succeeded("\"ok\"".getBytes(StandardCharsets.UTF_8))).apply(e);
    }

    /** A function and its $LATEST (with a configuration when {@code retries} is not null): a configuration belongs to a version. */
    void function(String account, String name, Integer retries, Integer maxAge, String onSuccess, String onFailure) {
        db.inTransaction(c -> {
            Instant at = Instant.now();
            Timestamp now = Timestamp.from(at);
            FunctionStore.insert(c, account, name, FunctionLifecycle.create(at), at);
            VersionStore.put(c, account, new VersionStore.Version(name, FunctionStore.LATEST, "python3.12", "app.handler",
                    "arn:aws:iam::" + account + ":role/r", "", 3, 128, 512, null, "sha", 1, List.of(), List.of(), null, "rev", at), "UEs=");
            if (retries != null) {
                Sql.update(c, "INSERT INTO function_event_invoke_configs (account_id, function_name, qualifier, maximum_retry_attempts,"
                        + " maximum_event_age_seconds, on_success, on_failure, last_modified) VALUES (?, ?, '$LATEST', ?, ?, ?, ?, ?)",
                        account, name, retries, maxAge, onSuccess, onFailure, now);
            }
            return null;
        });
    }

    static String enqueue(EventQueue q, String account, String function, String payload) {
        String id = UUID.randomUUID().toString();
        q.enqueue(new EventStore.NewEvent(id, account, REGION, function, "$LATEST", null, payload.getBytes(StandardCharsets.UTF_8)));
        return id;
    }

    EventStore.Counts counts(String account, String function) {
        return db.inTransaction(c -> EventStore.counts(c, account)).stream().filter(f -> f.function().equals(function)).findFirst()
                .orElse(new EventStore.Counts(function, 0, 0, 0, 0, 0, 0));
    }

    List<Ran> ranOf(String function) {
        return ran.stream().filter(r -> r.function().equals(function)).toList();
    }

    static Attempt functionError() {
        return new Attempt.FunctionFailed("Unhandled", "{\"errorMessage\":\"boom\",\"errorType\":\"Error\"}".getBytes(StandardCharsets.UTF_8));
    }

    static String arn(String account, String function) {
        return "arn:aws:lambda:" + REGION + ":" + account + ":function:" + function;
    }

    // ---- Durability ------------------------------------------------------------------------------

    @Test
    void shouldRunAnEventCommittedBeforeTheControlPlaneStopped() {
        EventQueue crashed = queue(8, 1000); // never started: it stops right after acknowledging
        String id = enqueue(crashed, ACCOUNT, "f", "{\"n\":1}");
        crashed.close();
        assertThat(counts(ACCOUNT, "f").queued()).isEqualTo(1);

        started();
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "f").succeeded() == 1);
        assertThat(ran).extracting(Ran::requestId).containsExactly(id);
        assertThat(counts(ACCOUNT, "f")).isEqualTo(new EventStore.Counts("f", 0, 0, 1, 0, 0, 0));
    }

    @Test
    void shouldRunAgainAnEventThatWasRunningWhenTheControlPlaneStopped() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        behaviour.put("f", e -> {
            running.countDown();
            try {
                never.await();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            return new Attempt.Succeeded(new byte[0]);
        });
        EventQueue first = started();
        String id = enqueue(first, ACCOUNT, "f", "{}");
        running.await();
        first.close(); // as if killed: the attempt never ends in the store
        assertThat(counts(ACCOUNT, "f").inFlight()).isEqualTo(1);

        behaviour.remove("f");
        started();
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "f").succeeded() == 1);
        assertThat(ran).extracting(Ran::requestId).containsExactly(id, id);
        assertThat(counts(ACCOUNT, "f").redelivered()).isEqualTo(1);
    }

    @Test
    void shouldRunAgainAnEventWhoseLeaseEndedAndIgnoreTheLateAttempt() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        behaviour.put("f", e -> {
            if (running.getCount() > 0) {
                running.countDown();
                try {
                    release.await();
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                return functionError(); // late: its claim is no longer current, so it changes nothing
            }
            return new Attempt.Succeeded(new byte[0]);
        });
        EventQueue q = started();
        String id = enqueue(q, ACCOUNT, "f", "{}");
        running.await();
        clock.advance(Duration.ofSeconds(LambdaConstraints.TIMEOUT.max() + 100)); // past the longest lease
        q.wake();
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "f").succeeded() == 1);
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> ran.size() == 2);
        assertThat(ran).extracting(Ran::requestId).containsExactly(id, id);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
                .until(() -> counts(ACCOUNT, "f").equals(new EventStore.Counts("f", 0, 0, 1, 0, 0, 1)));
    }

    // ---- Retries ---------------------------------------------------------------------------------

    @Test
    void shouldRetryAFunctionErrorTwiceAMinuteAndTwoMinutesApartByDefault() {
        behaviour.put("f", e -> functionError());
        EventQueue q = started();
        enqueue(q, ACCOUNT, "f", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "f").dead() == 1);
        List<Ran> attempts = ranOf("f");
        assertThat(attempts).hasSize(3);
        assertThat(attempts.get(1).atMillis() - attempts.get(0).atMillis()).isGreaterThanOrEqualTo(60 - 5);
        assertThat(attempts.get(2).atMillis() - attempts.get(1).atMillis()).isGreaterThanOrEqualTo(120 - 5);
        assertThat(counts(ACCOUNT, "f")).isEqualTo(new EventStore.Counts("f", 0, 0, 0, 2, 1, 0));
    }

    @Test
    void shouldRetryAFunctionErrorAsOftenAsMaximumRetryAttemptsSays() {
        for (int retries = 0; retries <= 1; retries++) {
            String name = "f" + retries;
            function(ACCOUNT, name, retries, 21600, null, null);
            behaviour.put(name, e -> functionError());
        }
        EventQueue q = started();
        enqueue(q, ACCOUNT, "f0", "{}");
        enqueue(q, ACCOUNT, "f1", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "f0").dead() == 1 && counts(ACCOUNT, "f1").dead() == 1);
        assertThat(ranOf("f0")).hasSize(1);
        assertThat(ranOf("f1")).hasSize(2);
        assertThat(counts(ACCOUNT, "f1").retried()).isEqualTo(1);
    }

    @Test
    void shouldRetryThrottlesWithBackoffUntilTheEventIsTooOldThenSendItsRecordToOnFailure() throws Exception {
        function(ACCOUNT, "f", 2, 60, null, arn(ACCOUNT, "failures"));
        behaviour.put("f", e -> new Attempt.Throttled("Rate Exceeded."));
        EventQueue q = started();
        String id = enqueue(q, ACCOUNT, "f", "{\"order\":7}");
        // Throttles do not use up MaximumRetryAttempts (2): far more attempts, 1, 2, 4, 8 ... ms apart.
        await().atMost(Duration.ofSeconds(10)).until(() -> ranOf("f").size() >= 5);
        assertThat(counts(ACCOUNT, "f").dead()).isZero();
        List<Ran> attempts = ranOf("f");
        assertThat(attempts.get(4).atMillis() - attempts.get(3).atMillis()).isGreaterThanOrEqualTo(8 - 2);
        clock.advance(Duration.ofSeconds(61));
        q.wake();
        await().atMost(Duration.ofSeconds(10)).until(() -> ranOf("failures").size() == 1);
        assertThat(counts(ACCOUNT, "f").dead()).isEqualTo(1);
        JsonNode record = JSON.readTree(ranOf("failures").getFirst().payload());
        assertThat(record.path("requestContext").path("condition").asText()).isEqualTo("EventAgeExceeded");
        assertThat(record.path("requestContext").path("requestId").asText()).isEqualTo(id);
        assertThat(record.path("requestContext").path("approximateInvokeCount").asInt()).isZero();
        assertThat(record.path("requestPayload").path("order").asInt()).isEqualTo(7);
        assertThat(record.has("responseContext")).as("the function never ran: no response").isFalse();
    }

    @Test
    void shouldRetrySystemErrorsUntilTheEventIsTooOld() {
        function(ACCOUNT, "f", 0, 60, null, null);
        behaviour.put("f", e -> new Attempt.SystemFailed("ServiceException: No worker is available to run function f."));
        EventQueue q = started();
        enqueue(q, ACCOUNT, "f", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> ranOf("f").size() >= 3 && counts(ACCOUNT, "f").retried() >= 3);
        clock.advance(Duration.ofSeconds(61));
        q.wake();
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "f").dead() == 1);
        assertThat(counts(ACCOUNT, "f").queued()).isZero();
    }

    // ---- Destinations ------------------------------------------------------------------------------

    @Test
    void shouldSendTheRecordOfASuccessToOnSuccess() throws Exception {
        function(ACCOUNT, "f", 2, 21600, arn(ACCOUNT, "successes") + ":$LATEST", null);
        behaviour.put("f", e -> new Attempt.Succeeded("{\"answer\":42}".getBytes(StandardCharsets.UTF_8)));
        EventQueue q = started();
        String id = enqueue(q, ACCOUNT, "f", "{\"question\":\"?\"}");
        await().atMost(Duration.ofSeconds(10)).until(() -> ranOf("successes").size() == 1);
        JsonNode record = JSON.readTree(ranOf("successes").getFirst().payload());
        assertThat(record.path("version").asText()).isEqualTo("1.0");
        assertThat(Instant.parse(record.path("timestamp").asText())).isNotNull();
        assertThat(record.path("requestContext").path("requestId").asText()).isEqualTo(id);
        assertThat(record.path("requestContext").path("functionArn").asText()).isEqualTo(arn(ACCOUNT, "f") + ":$LATEST");
        assertThat(record.path("requestContext").path("condition").asText()).isEqualTo("Success");
        assertThat(record.path("requestContext").path("approximateInvokeCount").asInt()).isEqualTo(1);
        assertThat(record.path("requestPayload").path("question").asText()).isEqualTo("?");
        assertThat(record.path("responseContext").path("statusCode").asInt()).isEqualTo(200);
        assertThat(record.path("responseContext").path("executedVersion").asText()).isEqualTo("$LATEST");
        assertThat(record.path("responseContext").has("functionError")).isFalse();
        assertThat(record.path("responsePayload").path("answer").asInt()).isEqualTo(42);
        await().atMost(Duration.ofSeconds(5)).until(() -> counts(ACCOUNT, "successes").succeeded() == 1);
    }

    @Test
    void shouldSendTheRecordOfExhaustedRetriesToOnFailure() throws Exception {
        function(ACCOUNT, "f", 1, 21600, null, arn(ACCOUNT, "failures"));
        behaviour.put("f", e -> functionError());
        EventQueue q = started();
        enqueue(q, ACCOUNT, "f", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> ranOf("failures").size() == 1);
        JsonNode record = JSON.readTree(ranOf("failures").getFirst().payload());
        assertThat(record.path("requestContext").path("condition").asText()).isEqualTo("RetriesExhausted");
        assertThat(record.path("requestContext").path("approximateInvokeCount").asInt()).isEqualTo(2);
        assertThat(record.path("responseContext").path("functionError").asText()).isEqualTo("Unhandled");
        assertThat(record.path("responsePayload").path("errorMessage").asText()).isEqualTo("boom");
        assertThat(counts(ACCOUNT, "f")).isEqualTo(new EventStore.Counts("f", 0, 0, 0, 1, 1, 0));
    }

    @Test
    void shouldDropAndCountARecordWhoseDestinationIsGone() {
        function(ACCOUNT, "f", 2, 21600, arn(ACCOUNT, "gone"), null);
        behaviour.put("gone", e -> new Attempt.Gone("Function not found: " + arn(ACCOUNT, "gone")));
        EventQueue q = started();
        enqueue(q, ACCOUNT, "f", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> counts(ACCOUNT, "gone").dead() == 1);
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> ranOf("gone").size() == 1);
        assertThat(counts(ACCOUNT, "gone").retried()).isZero();
    }

    // ---- Throughput ------------------------------------------------------------------------------

    /** Events enqueued by concurrent callers and run by an instant fake: the store's own cost per event, printed for the record. */
    @Test
    void shouldSustainHundredsOfEventsASecond() throws Exception {
        int callers = 8;
        int perCaller = 250;
        EventQueue q = queue(64, 100_000).start();
        long started = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < callers; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < perCaller; i++) {
                    enqueue(q, ACCOUNT, "f", "{}");
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        double enqueueSeconds = (System.nanoTime() - started) / 1e9;
        await().atMost(Duration.ofSeconds(60)).until(() -> counts(ACCOUNT, "f").succeeded() == callers * perCaller);
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("%s: %d events enqueued in %.2f s (%.0f/s), all run in %.2f s (%.0f/s)%n", getClass().getSimpleName(),
                callers * perCaller, enqueueSeconds, callers * perCaller / enqueueSeconds, seconds, callers * perCaller / seconds);
        assertThat(callers * perCaller / seconds).as("events/s through the store").isGreaterThan(100);
    }

    // ---- Bounds and fairness --------------------------------------------------------------------

    @Test
    void shouldRefuseAnEventPastTheAccountsBoundAndStoreNothing() {
        EventQueue q = queue(8, 3); // not started: nothing runs, so the events stay
        for (int i = 0; i < 3; i++) {
            enqueue(q, ACCOUNT, "f", "{}");
        }
        assertThatThrownBy(() -> enqueue(q, ACCOUNT, "f", "{}")).isInstanceOfSatisfying(LambdaError.class, e -> {
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.type()).isEqualTo("TooManyRequestsException");
            assertThat(e.getMessage()).contains("3 asynchronous invocations waiting");
        });
        assertThat(counts(ACCOUNT, "f").queued()).isEqualTo(3);
        enqueue(q, OTHER, "f", "{}"); // another account has its own bound
        assertThat(counts(OTHER, "f").queued()).isEqualTo(1);
    }

    /** Two attempts at once, and five accounts: one with a backlog of 500, four with one event each. */
    @Test
    void shouldNotLetOneAccountsBacklogDelayOtherAccountsEvents() {
        behaviour.put("busy", e -> {
            long until = System.nanoTime() + Duration.ofMillis(2).toNanos();
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            return new Attempt.Succeeded(new byte[0]);
        });
        EventQueue crashed = queue(2, 10_000);
        for (int i = 0; i < 500; i++) {
            enqueue(crashed, ACCOUNT, "busy", "{}");
        }
        List<String> others = List.of(OTHER, "333333333333", "444444444444", "555555555555");
        for (String account : others) {
            enqueue(crashed, account, "single", "{}");
        }
        crashed.close();
        queue(2, 10_000).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> ranOf("single").size() == others.size());
        List<Ran> order = List.copyOf(ran);
        int lastSingle = order.indexOf(ranOf("single").getLast());
        long busyBefore = order.subList(0, lastSingle).stream().filter(r -> r.function().equals("busy")).count();
        assertThat(busyBefore).as("attempts of the busy account's backlog before the last of the other accounts' events").isLessThan(10);
    }
}
