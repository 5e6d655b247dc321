package io.hyperplane.e2e;

import io.hyperplane.cli.Main;
import io.hyperplane.linux.exec.Jvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.profiles.ProfileFile;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.ResourceNotFoundException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Stopping {@code hyperplane up} at any moment leaves nothing (issue 15): SIGTERM at 20 points of
 * its start-up, of a burst of invocations and of its shutdown, each chosen by what up has printed
 * or written (never by a fixed delay), and after each no namespace, process, cgroup, mount, uid
 * lease or file outside the data directory is left. One data directory throughout: each run
 * starts where the last was stopped. Also: up says where it is only when an Invoke succeeds.
 * <p>
 * Each point costs an up of its own, so a test run stops at a third of them, points of every kind
 * among them, a different third from run to run. It prints the points it chose;
 * {@code -Dhyperplane.stopAnywhere.points=3,14} stops at those, {@code =all} at every one.
 */
@Timeout(900)
class StopAnywhereEndToEndTest {
    private static final String LISTEN = "127.0.0.1:18767";
    private static final URI ENDPOINT = URI.create("http://" + LISTEN);
    private static final int BURST = 16;
    private static final Duration STEP = Duration.ofSeconds(120);
    /** Names the points to stop at: "all", or their numbers ("3,14"), as this test prints them. */
    private static final String POINTS_PROPERTY = "hyperplane.stopAnywhere.points";
    /**
     * A run stops at one point in this many (each costs an up of its own, 3 to 19 s, 190 s for all
     * 20): every kind of point each run, each point one run in three, a third of the time.
     */
    private static final int SHARES = 3;

    @TempDir
    Path dir;
    private Up running;

    /** A {@code hyperplane up} process: its output as it comes, and every process it started. */
    private final class Up {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final Set<Long> started = ConcurrentHashMap.newKeySet();
        final Map<Long, List<String>> arguments = new ConcurrentHashMap<>();

        Up() throws IOException {
            Path data = data();
            // Each run's logs anew, so "a log says ready" means this run's process.
            for (String log : List.of("up.log", "node/node.log", "worker/worker-shared.log", "worker-legacy/worker-legacy.log")) {
                Files.deleteIfExists(data.resolve(log));
            }
            Path tmp = Files.createDirectories(dir.resolve("tmp"));
            List<String> command = new ArrayList<>(Jvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + tmp),
                    Main.class.getName()));
            command.addAll(List.of("up", "--data-dir", data.toString(), "--listen", LISTEN, "--nodes", "1"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().put("TMPDIR", tmp.toString());
            builder.environment().put("HYPERPLANE_JAVA_OPTS", "-Djava.io.tmpdir=" + tmp);
            process = builder.start();
            started.add(process.pid());
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            Thread.ofVirtual().start(() -> out.lines().forEach(lines::add));
            // Every process up starts (node, workers, their runtimes), for the check that none outlives it.
            Thread.ofVirtual().start(() -> {
                while (process.isAlive()) {
                    process.descendants().forEach(p -> {
                        started.add(p.pid());
                        // Read again each time: a child just forked shows up's own command line until it execs.
                        try {
                            String cmdline = Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"), StandardCharsets.UTF_8);
                            if (!cmdline.isEmpty()) { // a zombie's is: it keeps what it ran
                                arguments.put(p.pid(), List.of(cmdline.split("\0")));
                            }
                        } catch (IOException gone) {
                            // it exited meanwhile
                        }
                    });
                    try {
                        process.waitFor(20, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        boolean printed(String fragment) {
            return lines.stream().anyMatch(l -> l.contains(fragment));
        }

        /** Waits for {@code point}; fails if up exits first. */
        void awaitPoint(String what, BooleanSupplier point) {
            await().alias(what).atMost(STEP).pollInterval(Duration.ofMillis(10)).until(() -> point.getAsBoolean() || !process.isAlive());
            assertThat(process.isAlive()).as("up exited before %s:%n%s", what, String.join("\n", lines)).isTrue();
        }

        void sigterm() {
            ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroy);
        }

        /** The pid up started with {@code argument} (its workers "w" and "wl") on its command line. */
        long child(String... argument) {
            return arguments.entrySet().stream().filter(e -> Collections.indexOfSubList(e.getValue(), List.of(argument)) >= 0)
                    .mapToLong(Map.Entry::getKey).findFirst().orElseThrow(() -> new AssertionError("no child with " + List.of(argument) + " among " + arguments.keySet()));
        }

        void awaitExit() throws InterruptedException {
            assertThat(process.waitFor(90, TimeUnit.SECONDS)).as("up stopped within 90 s:%n%s", String.join("\n", lines)).isTrue();
        }
    }

    private Path data() {
        return dir.resolve("data");
    }

    private HostLeftovers leftovers() {
        return new HostLeftovers(data(), List.of("hp-up-", "hp-ee-w-", "hp-ee-wl-"), List.of("w", "wl"), dir.resolve("tmp"));
    }

    private static boolean logSays(Path log, String fragment) {
        try {
            return Files.exists(log) && Files.readString(log).contains(fragment);
        } catch (IOException e) {
            return false;
        }
    }

    private void assertNothingLeft(String point, Up up) {
        assertThat(leftovers().find(up.started)).as("after SIGTERM %s; up's output:%n%s", point, String.join("\n", up.lines)).isEmpty();
    }

    /** Starts up, waits for {@code point}, sends SIGTERM, and checks that nothing is left once up has exited. */
    private void stopAt(String what, Predicate<Up> point) throws Exception {
        Up up = running = new Up();
        up.awaitPoint(what, () -> point.test(up));
        up.sigterm();
        up.awaitExit();
        assertNothingLeft(what, up);
        running = null;
    }

    /** Whether the start-up point is at or after up's announcement (the data directory is new until then). */
    private static boolean announced(String point) {
        return point.equals("once up says it is up");
    }

    private static ProfileCredentialsProvider credentials(Path data) {
        return ProfileCredentialsProvider.builder()
                .profileFile(ProfileFile.builder().content(data.resolve("credentials")).type(ProfileFile.Type.CREDENTIALS).build()).build();
    }

    private static boolean healthy() {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(ENDPOINT.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void shouldLeaveNothingWhenStoppedAtAnyPointOfStartUpBurstOrShutdown() throws Exception {
        List<Stop> stops = stops();
        List<Stop> chosen = chosen(stops);
        String numbers = chosen.stream().map(s -> Integer.toString(s.number())).collect(Collectors.joining(","));
        System.out.printf("stopping up at %d of its %d points: %s (-D%s=%s replays this run, =all stops at every point)%n",
                chosen.size(), stops.size(), numbers, POINTS_PROPERTY, numbers);
        for (Stop stop : chosen) {
            long began = System.nanoTime();
            try {
                stop.run().call();
            } catch (AssertionError failed) {
                throw new AssertionError("point " + stop.number() + ", " + stop.kind().words + " " + stop.what()
                        + " (replay it alone with -D" + POINTS_PROPERTY + "=" + stop.number() + "): " + failed.getMessage(), failed);
            }
            System.out.printf("point %d, %s %s: nothing left (%.1f s)%n", stop.number(), stop.kind().words, stop.what(),
                    (System.nanoTime() - began) / 1e9);
        }
    }

    /** Where up is stopped: while it starts, during a burst of invocations, or while it stops. */
    private enum Kind {
        START_UP("while it starts,"), BURST("during a burst,"), SHUTDOWN("while it stops, a second SIGTERM");

        final String words;

        Kind(String words) {
            this.words = words;
        }
    }

    /** One point up is stopped at: numbered for {@link #POINTS_PROPERTY}, in the order the points run. */
    private record Stop(int number, Kind kind, String what, Callable<Void> run) {
    }

    /**
     * The points this run stops at: those {@link #POINTS_PROPERTY} names ("all", or numbers), else one
     * share of them, point n in share n mod {@link #SHARES}, the share picked by the clock. Each kind's
     * points are numbered one after another and number at least {@link #SHARES}, so every share has
     * points of every kind; over runs, every point is chosen.
     */
    private static List<Stop> chosen(List<Stop> stops) {
        String named = System.getProperty(POINTS_PROPERTY, "");
        if (named.equals("all")) {
            return stops;
        }
        if (!named.isBlank()) {
            Set<Integer> numbers = Arrays.stream(named.split(",")).map(String::strip).map(Integer::valueOf).collect(Collectors.toSet());
            assertThat(numbers).as("-D%s: point numbers 1 to %d", POINTS_PROPERTY, stops.size()).allMatch(n -> n >= 1 && n <= stops.size());
            return stops.stream().filter(s -> numbers.contains(s.number())).toList();
        }
        for (Kind kind : Kind.values()) {
            assertThat(stops.stream().filter(s -> s.kind() == kind).count()).as("points %s", kind.words).isGreaterThanOrEqualTo(SHARES);
        }
        long share = System.currentTimeMillis() % SHARES;
        return stops.stream().filter(s -> s.number() % SHARES == share).toList();
    }

    /** Every point, in order: each starts where the last left the data directory. */
    private List<Stop> stops() {
        Path data = data();
        List<Stop> stops = new ArrayList<>();
        // Start-up: each step up prints, and each file its parts write when they are up.
        Map<String, Predicate<Up>> startUp = new LinkedHashMap<>();
        startUp.put("as the control plane starts", up -> up.printed("starting the control plane"));
        startUp.put("once the store is open", up -> logSays(data.resolve("up.log"), "Start completed"));
        startUp.put("once the schema is validated", up -> logSays(data.resolve("up.log"), "Successfully validated"));
        startUp.put("once the API listens", up -> logSays(data.resolve("up.log"), "Javalin started"));
        startUp.put("as the hosts join the underlay", up -> up.printed("joining the forwarder node"));
        startUp.put("as the node starts", up -> up.printed("starting the forwarder node"));
        startUp.put("once the node is ready", up -> logSays(data.resolve("node/node.log"), "ready"));
        startUp.put("as worker w starts", up -> up.printed("starting worker w "));
        startUp.put("once worker w is ready", up -> logSays(data.resolve("worker/worker-shared.log"), "ready"));
        startUp.put("as worker wl starts", up -> up.printed("starting worker wl "));
        startUp.put("once worker wl is ready", up -> logSays(data.resolve("worker-legacy/worker-legacy.log"), "ready"));
        startUp.put("once up says it is up", up -> up.printed("hyperplane is up"));
        startUp.forEach((what, point) -> stops.add(new Stop(stops.size() + 1, Kind.START_UP, what, () -> {
            stopAt(what, point);
            if (!announced(what)) {
                assertThat(data.resolve("credentials")).as("stopped %s, before it was ready: up wrote no credentials", what).doesNotExist();
            }
            return null;
        })));
        // A burst: 16 invocations at once, stopped after 1, 4, 8 and all 16 have been answered.
        for (int answered : new int[] {1, 4, 8, BURST}) {
            stops.add(new Stop(stops.size() + 1, Kind.BURST, "after " + answered + " of " + BURST + " answered", () -> {
                stopDuringBurst(answered);
                return null;
            }));
        }
        // Shutdown: a second SIGTERM while up stops, at each part it stops in turn.
        Map<String, Predicate<Up>> shutdown = new LinkedHashMap<>();
        shutdown.put("as up begins to stop", up -> up.printed("stopping:"));
        shutdown.put("once worker w is gone", up -> gone(up.child("--name", "w")));
        shutdown.put("as the node leaves the control plane", up -> logSays(data.resolve("node/node.log"), "left the control plane"));
        shutdown.put("as the fabric goes", up -> up.printed("lab: deleted"));
        shutdown.forEach((what, point) -> stops.add(new Stop(stops.size() + 1, Kind.SHUTDOWN, what, () -> {
            stopDuringShutdown(what, point);
            return null;
        })));
        return stops;
    }

    private void stopDuringBurst(int answered) throws Exception {
        Up up = running = new Up();
        up.awaitPoint("up says it is up", () -> up.printed("hyperplane is up"));
        assertThat(healthy()).as("up said where it is only once it is ready").isTrue();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger succeeded = new AtomicInteger();
        try (LambdaClient lambda = AwsClients.lambda(ENDPOINT, credentials(data()));
             IamClient iam = AwsClients.iam(ENDPOINT, credentials(data()));
             ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            ensureFunction(lambda, iam);
            for (int i = 0; i < BURST; i++) {
                callers.submit(() -> {
                    try {
                        if (lambda.invoke(b -> b.functionName("burst")).payload().asUtf8String().equals("\"ok\"")) {
                            succeeded.incrementAndGet();
                        }
                    } catch (RuntimeException stoppedMidCall) {
                        // up was stopped while this call ran
                    } finally {
                        done.incrementAndGet();
                    }
                });
            }
            up.awaitPoint(answered + " of the burst answered", () -> done.get() >= answered);
            if (answered == BURST) {
                assertThat(succeeded.get()).as("every invocation sent once up said it is up").isEqualTo(BURST);
            }
            up.sigterm();
            up.awaitExit();
        }
        assertNothingLeft("after " + answered + " of a burst of " + BURST + " were answered", up);
        running = null;
    }

    private static void ensureFunction(LambdaClient lambda, IamClient iam) {
        try {
            lambda.getFunction(b -> b.functionName("burst"));
        } catch (ResourceNotFoundException e) {
            String role = iam.createRole(b -> b.roleName("burst").assumeRolePolicyDocument(RuntimeWorld.TRUST)).role().arn();
            lambda.createFunction(b -> b.functionName("burst").role(role).runtime("python3.12").handler("app.handler")
                    .code(c -> c.zipFile(SdkBytes.fromByteArray(RuntimeWorld.zip(Map.of("app.py", "def handler(e, c):\n    return 'ok'\n"))))));
        }
        lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("burst"), AwsClients.promptly());
    }

    private static boolean gone(long pid) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isEmpty();
    }

    private void stopDuringShutdown(String what, Predicate<Up> point) throws Exception {
        Up up = running = new Up();
        up.awaitPoint("up says it is up", () -> up.printed("hyperplane is up"));
        try (LambdaClient lambda = AwsClients.lambda(ENDPOINT, credentials(data()));
             IamClient iam = AwsClients.iam(ENDPOINT, credentials(data()))) {
            ensureFunction(lambda, iam); // made by a burst, unless this run chose none before
            assertThat(lambda.invoke(b -> b.functionName("burst")).statusCode()).as("an environment to tear down").isEqualTo(200);
        }
        up.sigterm();
        up.awaitPoint(what, () -> point.test(up));
        up.sigterm();
        up.awaitExit();
        assertNothingLeft(what + " (a second SIGTERM while stopping)", up);
        running = null;
    }

    /** A failed run's up is stopped, and the next up on the data directory removes what it left. */
    @AfterEach
    void stopWhatIsLeft() throws Exception {
        if (running != null && running.process.isAlive()) {
            running.sigterm();
            running.process.waitFor(90, TimeUnit.SECONDS);
        }
        if (running != null) {
            for (long pid : running.started) { // what up failed to stop, by the pid it had
                ProcessHandle.of(pid).ifPresent(p -> {
                    p.destroy();
                    p.onExit().completeOnTimeout(p, 20, TimeUnit.SECONDS).join();
                    p.destroyForcibly();
                });
            }
            Up cleaner = new Up();
            cleaner.awaitPoint("up says it is up", () -> cleaner.printed("hyperplane is up"));
            cleaner.sigterm();
            cleaner.awaitExit();
        }
    }
}
