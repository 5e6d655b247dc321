package io.hyperplane.control.lambda;

import io.hyperplane.config.fleet.Eviction;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.Payload;
import io.hyperplane.control.fleet.WorkerRegistry;
import io.hyperplane.control.lambda.VersionStore.Subnet;
import io.hyperplane.control.lambda.VersionStore.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Invoke for Active functions: concurrency accounting, then the invocation goes to a live worker,
 * which runs it in an execution environment. RequestResponse answers when the worker does, with
 * no platform thread waiting meanwhile (the call waits on a virtual thread); Event is queued (in
 * memory) and retried twice on a function error, as Lambda does; DryRun only checks.
 * <p>Concurrency (one invocation per environment, so in-flight invocations are the concurrency):
 * a function with reserved concurrency R runs at most R at once; the others share what the
 * account's limit leaves unreserved. Beyond that: TooManyRequestsException (429).
 */
public final class InvocationService implements LambdaApi.Invoker, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InvocationService.class);
    private static final String FUNCTION_ERROR_HEADER = "X-Amz-Function-Error";
    private static final int SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024; // Lambda: 6 MB request and response
    private static final int EVENT_PAYLOAD_LIMIT = 256 * 1024; // Lambda: 256 KB for asynchronous invocation
    private static final int LOG_TAIL_BYTES = 4096;
    /** Project extension: run on a worker of this network model (shared | legacy). */
    public static final String NETWORK_MODEL_HEADER = "x-hyperplane-network-model";

    /** Asynchronous invocation: attempts after the first on a function error, and the delay before each. */
    public record Settings(int eventRetries, Duration eventRetryDelay, int eventDispatchers, Duration coldStartAllowance) {
        public static final Settings DEFAULTS = new Settings(2, Duration.ofSeconds(1), 8, Duration.ofSeconds(90));
    }

    /** What became of one asynchronous invocation (for inspection: `hyperplane` tests and the demo). */
    public record EventOutcome(String requestId, String function, int attempts, boolean succeeded, String lastError) {
    }

    private final WorkerRegistry workers;
    private final String token;
    private final int accountConcurrency;
    private final Settings settings;
    /** One virtual thread per worker call: it parks while the function runs, so 1,000 in flight cost no platform threads. */
    private final ExecutorService calls = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("hp-invoke-", 0).factory());
    /**
     * The client's own tasks (reading answers off the selector): work for the CPU only, so one
     * thread per core, bounded unlike the client's default pool.
     */
    private final ExecutorService clientTasks = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors(),
            Thread.ofPlatform().name("hp-invoke-io-", 0).daemon().factory());
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
            .executor(clientTasks).build();
    private final ConcurrencySlots slots = new ConcurrencySlots();
    /**
     * The latest Event invocations' outcomes, for `hyperplane` and tests to read: the most recent
     * {@link #EVENT_OUTCOMES_KEPT}, oldest dropped first, so a busy server's memory does not grow
     * with every event it ever took. Guarded by itself.
     */
    private final Map<String, EventOutcome> events = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, EventOutcome> eldest) {
            return size() > EVENT_OUTCOMES_KEPT;
        }
    };
    static final int EVENT_OUTCOMES_KEPT = 10_000;
    private final DelayQueue<QueuedEvent> queue = new DelayQueue<>();
    private final List<Thread> dispatchers = new ArrayList<>();
    private volatile boolean running = true;

    public InvocationService(WorkerRegistry workers, String token, int accountConcurrency, Settings settings) {
        this.workers = workers;
        this.token = token;
        this.accountConcurrency = accountConcurrency;
        this.settings = settings;
        for (int i = 0; i < settings.eventDispatchers(); i++) {
            dispatchers.add(Thread.ofPlatform().name("hp-events-" + i).daemon().start(this::dispatch));
        }
    }

    @Override
    public CompletableFuture<LambdaApi.Response> invoke(Target target, Map<String, String> headers, byte[] payload) {
        String type = headers.getOrDefault("x-amz-invocation-type", "RequestResponse");
        String name = target.version().name();
        switch (type) {
            case "DryRun" -> {
                return CompletableFuture.completedFuture(new LambdaApi.Response(204, null, Map.of("X-Amz-Executed-Version", target.version().version())));
            }
            case "Event" -> {
                if (payload.length > EVENT_PAYLOAD_LIMIT) {
                    throw new LambdaError("RequestTooLargeException", 413, "Request must be smaller than " + EVENT_PAYLOAD_LIMIT
                            + " bytes for the InvokeAsync operation");
                }
                String requestId = UUID.randomUUID().toString();
                recordOutcome(new EventOutcome(requestId, name, 0, false, null));
                queue.add(new QueuedEvent(new Call(requestId, target, payload, "None", null, headers.get(NETWORK_MODEL_HEADER)), 0, System.nanoTime()));
                return CompletableFuture.completedFuture(new LambdaApi.Response(202, null, Map.of("X-Amz-Executed-Version", target.version().version())));
            }
            case "RequestResponse" -> {
                if (payload.length > SYNC_PAYLOAD_LIMIT) {
                    throw new LambdaError("RequestTooLargeException", 413, "Request must be smaller than " + SYNC_PAYLOAD_LIMIT
                            + " bytes for the InvokeFunction operation");
                }
                Call call = new Call(UUID.randomUUID().toString(), target, payload, headers.getOrDefault("x-amz-log-type", "None"),
                        headers.get("x-amz-client-context"), headers.get(NETWORK_MODEL_HEADER));
                String slot = acquire(target);
                CompletableFuture<InvokeResult> running;
                try {
                    running = run(call);
                } catch (RuntimeException e) {
                    slots.release(slot);
                    throw e;
                }
                // The slot is held until the worker answers, however long the function runs; no thread waits meanwhile.
                return running.whenComplete((result, failure) -> slots.release(slot)).thenApply(result -> respond(call, result));
            }
            default -> throw LambdaError.invalid("X-Amz-Invocation-Type " + type + ": expected RequestResponse, Event or DryRun");
        }
    }

    /** Invocations of {@code account} running now without reserved concurrency: what its unreserved share has in use. */
    public int unreservedInFlight(String account) {
        return slots.inFlight(account);
    }

    /** Asks every live worker to end the function's environments (their ENIs are then released). */
    @Override
    public void functionDeleted(String account, String name) {
        String body = FleetJson.encode(new Eviction(account, name));
        for (WorkerRegistry.WorkerStatus w : workers.live()) {
            http.sendAsync(HttpRequest.newBuilder(w.url().resolve("/evict")).timeout(Duration.ofSeconds(10))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding())
                    .exceptionally(e -> {
                        LOG.warn("worker {} not told that {} is deleted: {}", w.name(), name, e.getMessage());
                        return null;
                    });
        }
    }

    public Map<String, EventOutcome> eventOutcomes() {
        synchronized (events) {
            return Map.copyOf(events);
        }
    }

    private void recordOutcome(EventOutcome outcome) {
        synchronized (events) {
            events.remove(outcome.requestId()); // re-inserted: the latest attempt is the newest entry
            events.put(outcome.requestId(), outcome);
        }
    }

    // ---- The function as read for the invocation ----------------------------------------------

    /**
     * An Active function's version as one read of the store found it: the subnets it runs in with
     * their ENIs, its reserved concurrency (null: none) and what the account's other functions reserve.
     */
    record Target(String account, String region, Version version, Integer reservedConcurrency, List<Subnet> subnets, long sumReservedOthers) {
        String key() {
            return account + "/" + version.name();
        }
    }

    // ---- Concurrency ----------------------------------------------------------------------------

    private String acquire(Target t) {
        Integer reserved = t.reservedConcurrency();
        String slot = reserved != null ? t.key() : t.account();
        int limit = reserved != null ? reserved : (int) Math.max(0, accountConcurrency - t.sumReservedOthers());
        slots.acquire(slot, limit);
        return slot;
    }

    // ---- Running on a worker --------------------------------------------------------------------

    /**
     * One invocation. {@code networkModel}: the X-Hyperplane-Network-Model header, a project
     * extension that asks for a worker of that model ("legacy" to measure the pre-2019 design
     * side by side); null for the default.
     */
    private record Call(String requestId, Target target, byte[] payload, String logType, String clientContext, String networkModel) {
    }

    /**
     * Sends the call to a worker; the future completes when the worker answers. A synchronous
     * invocation holds no platform thread while its function runs: the call waits on a virtual
     * thread. (Not {@code sendAsync}: the JDK client completes its futures on the common
     * ForkJoinPool, so anything blocking there, anywhere in the process, would hold up every
     * answer; {@code send} on a virtual thread uses only the client's own threads and the carrier
     * threads, and keeps the timeouts and errors as they were.)
     */
    private CompletableFuture<InvokeResult> run(Call call) {
        Target t = call.target();
        Version v = t.version();
        InvokeRequest request = new InvokeRequest(call.requestId(), t.account(), t.region(), v.name(), v.version(),
                LambdaApi.arn(t.region(), t.account(), v.name()) + (v.version().equals(FunctionStore.LATEST) ? "" : ":" + v.version()),
                v.runtime(), v.handler(), v.memory(), v.timeout(), v.ephemeralStorage(), v.codeSha256(), v.revisionId(),
                v.environment() == null ? Map.of() : v.environment(),
                t.subnets().stream().map(s -> new InvokeRequest.Subnet(s.subnetId(), s.eniId(), s.securityGroupIds())).toList(),
                call.clientContext() == null ? null : new String(Base64.getDecoder().decode(call.clientContext()), StandardCharsets.UTF_8),
                new Payload(call.payload()));
        HttpRequest.Builder http = HttpRequest.newBuilder()
                .timeout(Duration.ofSeconds(v.timeout()).plus(settings.coldStartAllowance()))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(FleetJson.encode(request)));
        return CompletableFuture.supplyAsync(() -> {
            WorkerRegistry.WorkerStatus worker = awaitWorker(call);
            return send(worker, call, http.uri(worker.url().resolve("/invoke")).build());
        }, calls);
    }

    /**
     * A worker for the call; while none can take it (the fleet is starting, a worker restarting)
     * the call waits for one, up to the function's timeout, as Lambda holds an invocation until
     * it has somewhere to run. On the call's virtual thread: the wait holds no request thread.
     */
    private WorkerRegistry.WorkerStatus awaitWorker(Call call) {
        Target t = call.target();
        String which = "No worker" + (call.networkModel() == null ? "" : " of the " + call.networkModel() + " network model");
        try {
            return workers.awaitPick(t.key(), call.networkModel(), Duration.ofSeconds(t.version().timeout())).orElseThrow(() ->
                    new LambdaError("ServiceException", 500, which + " became available to run function " + t.version().name()
                            + " within its timeout of " + t.version().timeout() + " s. Start one (hyperplane worker) or check that"
                            + " the workers reach the control plane, then invoke again."));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LambdaError("ServiceException", 500, which + " was found for function " + t.version().name()
                    + ": the control plane is stopping. Invoke again once it is back.");
        }
    }

    /** On a virtual thread of its own, which the wait for the worker does not keep on a carrier. */
    private InvokeResult send(WorkerRegistry.WorkerStatus worker, Call call, HttpRequest request) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                LOG.warn("worker {} answered {} for {}: {}", worker.name(), response.statusCode(), call.requestId(), response.body());
                throw new LambdaError("ServiceException", 500, "The worker could not run the invocation (HTTP " + response.statusCode() + ").");
            }
            return FleetJson.decode(response.body(), InvokeResult.class);
        } catch (IllegalArgumentException e) {
            LOG.warn("worker {} answered {} with what is not an invoke result: {}", worker.name(), call.requestId(), e.getMessage());
            throw new LambdaError("ServiceException", 500, "The worker " + worker.name() + " answered with what is not an invoke result.");
        } catch (IOException e) {
            throw new LambdaError("ServiceException", 500, "The worker " + worker.name() + " is unreachable: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LambdaError("ServiceException", 500, "Interrupted.");
        }
    }

    /**
     * The worker's result as Lambda's Invoke response, the one place a result is read (Event
     * invocations read this response too): what the function answered; its error, flagged in
     * X-Amz-Function-Error; or a service-side failure (legacy ENI creation, say) as the
     * LambdaError it is, with Lambda's error type and status.
     */
    private static LambdaApi.Response respond(Call call, InvokeResult result) {
        return switch (result) {
            case InvokeResult.Success success -> response(call, success.payload(), success.log(), null);
            case InvokeResult.FunctionError error -> response(call, error.payload(), error.log(), error.functionError());
            case InvokeResult.ServiceError error -> throw new LambdaError(error.errorType(), error.status(), error.message());
        };
    }

    private static LambdaApi.Response response(Call call, Payload payload, String log, String functionError) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("X-Amz-Executed-Version", call.target().version().version());
        headers.put("Content-Type", "application/json");
        if (functionError != null) {
            headers.put(FUNCTION_ERROR_HEADER, functionError);
        }
        if ("Tail".equals(call.logType())) {
            byte[] bytes = log.getBytes(StandardCharsets.UTF_8);
            int from = Math.max(0, bytes.length - LOG_TAIL_BYTES);
            headers.put("X-Amz-Log-Result", Base64.getEncoder().encodeToString(Arrays.copyOfRange(bytes, from, bytes.length)));
        }
        return new LambdaApi.Response(200, new String(payload.bytes(), StandardCharsets.UTF_8), headers);
    }

    // ---- Asynchronous invocation ----------------------------------------------------------------

    private record QueuedEvent(Call call, int attempt, long dueNanos) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(dueNanos, ((QueuedEvent) o).dueNanos);
        }
    }

    private void dispatch() {
        while (running) {
            QueuedEvent e;
            try {
                e = queue.take(); // idle dispatchers sleep until an event is due; close() interrupts them
            } catch (InterruptedException ie) {
                return;
            }
            Call call = e.call();
            String error;
            try {
                String slot = acquire(call.target());
                try {
                    // A dispatcher thread is the event's, it may wait. The function's error is what it answered;
                    // a service-side failure is thrown, as for a synchronous call.
                    LambdaApi.Response response = respond(call, await(run(call)));
                    error = response.headers().containsKey(FUNCTION_ERROR_HEADER) ? response.body() : null;
                } finally {
                    slots.release(slot);
                }
            } catch (LambdaError le) {
                if (le.status() == 429) { // throttled: Lambda keeps such events and tries again later
                    queue.add(new QueuedEvent(call, e.attempt(), System.nanoTime() + settings.eventRetryDelay().toNanos()));
                    continue;
                }
                error = le.type() + ": " + le.getMessage();
            } catch (InterruptedException ie) {
                return;
            }
            int attempts = e.attempt() + 1;
            recordOutcome(new EventOutcome(call.requestId(), call.target().version().name(), attempts, error == null, error));
            if (error != null && e.attempt() < settings.eventRetries()) {
                queue.add(new QueuedEvent(call, attempts, System.nanoTime() + settings.eventRetryDelay().toNanos() * attempts));
            }
        }
    }

    /** The call's answer, or the LambdaError it failed with. */
    private static InvokeResult await(CompletableFuture<InvokeResult> call) throws InterruptedException {
        try {
            return call.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof LambdaError error) {
                throw error;
            }
            throw new LambdaError("ServiceException", 500, "The invocation failed: " + e.getCause());
        }
    }

    @Override
    public void close() {
        running = false;
        dispatchers.forEach(Thread::interrupt);
        for (Thread t : dispatchers) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        calls.shutdownNow();
        http.shutdownNow();
        clientTasks.shutdownNow();
    }
}
