package io.hyperplane.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.client.LambdaHttpClient;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.linux.Directories;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@code hyperplane bench events}: Event (asynchronous) invocations per second sustained through
 * the control plane's queue, on embedded H2 and on PostgreSQL. A real server (no fabric) runs in
 * this JVM; a {@link StubWorker} registers with it over the fleet protocol and answers every
 * invocation at once, so the figure is the queue's, not a function's. Client threads send signed
 * Invoke requests with InvocationType Event for a fixed time (a warm-up first, not counted):
 * accepted/s are the 202s in the measured time, completed/s the invocations the worker was handed
 * in it. Then the backlog (acknowledged, not yet handed to the worker) when the clients stop, how
 * long it takes to drain, and the request ids the worker was handed more than once.
 */
public final class EventBench {
    /** A function the stub worker never runs: it is there to be invoked. */
    private static final String FUNCTION = "bench-events";
    private static final String TRUST = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
            + "{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}";
    private static final Map<String, String> EVENT = Map.of("X-Amz-Invocation-Type", "Event");
    private static final Duration DRAIN_POLL = Duration.ofMillis(20);

    public enum Store {
        H2, POSTGRESQL;

        public String label() {
            return name().toLowerCase();
        }
    }

    /**
     * @param postgresDir where a PostgreSQL run keeps its throwaway cluster (removed after it)
     * @param drainLimit  how long the backlog may take to drain before the run gives up on it
     */
    public record Settings(List<Store> stores, int clients, Duration warmup, Duration measure, Duration drainLimit, Path postgresDir) {
        public Settings {
            stores = List.copyOf(stores);
            if (stores.isEmpty()) {
                throw new IllegalArgumentException("stores: at least one of h2, postgresql");
            }
            if (clients < 1) {
                throw new IllegalArgumentException("clients " + clients + ": at least 1");
            }
            if (measure.isZero() || measure.isNegative()) {
                throw new IllegalArgumentException("measure " + measure + ": must be positive");
            }
        }
    }

    /**
     * One store's run. {@code refused}: Invoke answers other than 202 (a full queue's 429s); {@code
     * backlog}: acknowledged and not yet handed to the worker when the clients stopped; {@code
     * drainSeconds}: until the worker had every acknowledged event, -1 if it did not within the limit.
     */
    public record Result(String store, String database, int clients, double seconds, long accepted, long refused, double acceptedPerSecond,
                         long completed, double completedPerSecond, long backlog, double drainSeconds, long duplicates) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Consumer<String> progress;

    public EventBench(Consumer<String> progress) {
        this.progress = progress;
    }

    public List<Result> run(Settings settings) throws IOException, InterruptedException {
        List<Result> results = new ArrayList<>();
        for (Store store : settings.stores()) {
            Result r = store == Store.H2 ? runOn(settings, store, null, "embedded H2") : runOnPostgres(settings);
            progress.accept(line(r));
            results.add(r);
        }
        return results;
    }

    public static String line(Result r) {
        return String.format("Event invocations, %s, %d clients: %.0f accepted/s, %.0f completed/s, backlog %d at the end, %s, %d duplicates%s",
                r.store(), r.clients(), r.acceptedPerSecond(), r.completedPerSecond(), r.backlog(),
                r.drainSeconds() < 0 ? "NOT drained" : String.format("drained in %.2f s", r.drainSeconds()), r.duplicates(),
                r.refused() == 0 ? "" : " (" + r.refused() + " refused)");
    }

    public static void writeJson(List<Result> results, Path file) throws IOException {
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        JSON.writeValue(file.toFile(), Map.of("bench", "events", "runs", results));
    }

    private Result runOnPostgres(Settings settings) throws IOException, InterruptedException {
        progress.accept("bench events: a throwaway PostgreSQL cluster in " + settings.postgresDir());
        try (BenchPostgres postgres = BenchPostgres.start(settings.postgresDir())) {
            return runOn(settings, Store.POSTGRESQL, postgres.jdbcUrl(), postgres.version());
        }
    }

    private Result runOn(Settings settings, Store store, String jdbcUrl, String database) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("hp-bench-events");
        ControlPlaneServer.Settings server = new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null);
        if (jdbcUrl != null) {
            server = server.withDatabase(jdbcUrl, BenchPostgres.USER, null);
        }
        try (ControlPlaneServer control = ControlPlaneServer.start(server);
             StubWorker worker = StubWorker.start("bench-stub", control.endpoint(), control.nodeToken())) {
            LambdaHttpClient lambda = new LambdaHttpClient(control.endpoint(), control.defaultCredential());
            createFunction(control, lambda);
            progress.accept("bench events: " + store.label() + " (" + database + "), " + settings.clients() + " clients, "
                    + settings.warmup().toSeconds() + " s warm-up, " + settings.measure().toSeconds() + " s measured");
            long start = System.nanoTime();
            long measureFrom = start + settings.warmup().toNanos();
            long end = measureFrom + settings.measure().toNanos();
            worker.countFrom(measureFrom, end);
            AtomicLong acceptedTotal = new AtomicLong();
            AtomicLong acceptedMeasured = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < settings.clients(); c++) {
                clients.add(Thread.ofPlatform().name("hp-bench-events-client-" + c).start(() -> {
                    while (System.nanoTime() < end) {
                        try {
                            LambdaHttpClient.Answer a = lambda.invoke(FUNCTION, "{}", EVENT);
                            if (a.status() != 202) {
                                refused.incrementAndGet();
                                continue;
                            }
                        } catch (IOException e) {
                            refused.incrementAndGet();
                            continue;
                        } catch (InterruptedException e) {
                            return;
                        }
                        acceptedTotal.incrementAndGet();
                        long answered = System.nanoTime();
                        if (answered - measureFrom >= 0 && answered - end < 0) {
                            acceptedMeasured.incrementAndGet();
                        }
                    }
                }));
            }
            for (Thread t : clients) {
                t.join();
            }
            long stopped = System.nanoTime();
            long backlog = acceptedTotal.get() - worker.distinct();
            long drainDeadline = stopped + settings.drainLimit().toNanos();
            while (worker.distinct() < acceptedTotal.get() && System.nanoTime() < drainDeadline) {
                Thread.sleep(DRAIN_POLL);
            }
            double drainSeconds = worker.distinct() >= acceptedTotal.get() ? (System.nanoTime() - stopped) / 1e9 : -1;
            double seconds = settings.measure().toNanos() / 1e9;
            return new Result(store.label(), database, settings.clients(), seconds, acceptedMeasured.get(), refused.get(),
                    acceptedMeasured.get() / seconds, worker.counted(), worker.counted() / seconds, Math.max(0, backlog), drainSeconds,
                    worker.duplicates());
        } finally {
            Directories.deleteTree(dir); // the server's store (H2) and keys
        }
    }

    /** The role and the function (outside any VPC, so Active at once), through the APIs as a user would. */
    private static void createFunction(ControlPlaneServer control, LambdaHttpClient lambda) throws IOException, InterruptedException {
        Ec2QueryClient iam = Ec2QueryClient.iam(control.endpoint(), control.defaultCredential());
        String role = Ec2QueryClient.text(iam.call("CreateRole", Map.of("RoleName", FUNCTION, "AssumeRolePolicyDocument", TRUST)), "Arn");
        String zip = Base64.getEncoder().encodeToString(RuntimeBench.zip(Map.of("app.py", "def handler(event, context):\n    return None\n"), false));
        String create = JSON.createObjectNode().put("FunctionName", FUNCTION).put("Runtime", "python3.12").put("Handler", "app.handler")
                .put("Role", role).put("Timeout", 3).put("MemorySize", 128).set("Code", JSON.createObjectNode().put("ZipFile", zip)).toString();
        LambdaHttpClient.Answer created = lambda.call("POST", "/2015-03-31/functions", create);
        if (created.status() != 201) {
            throw new IllegalStateException("CreateFunction: " + created.status() + " " + created.body());
        }
        lambda.awaitActive(FUNCTION, Duration.ofSeconds(60));
    }
}
