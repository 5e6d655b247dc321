package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fleet.Eviction;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.Payload;
import io.hyperplane.control.fleet.WorkerRegistry;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.lambda.EventRetries.Attempt;
import io.hyperplane.control.lambda.VersionStore.Subnet;
import io.hyperplane.control.lambda.VersionStore.Version;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Invoke for Active functions: concurrency accounting, then the invocation goes to a live worker,
 * which runs it in an execution environment. RequestResponse answers when the worker does, with
 * no platform thread waiting meanwhile (the call waits on a virtual thread); Event is committed to
 * the store's queue ({@link EventQueue}) and run from there with Lambda's retries; DryRun only checks.
 * <p>Concurrency (one invocation per environment, so in-flight invocations are the concurrency):
 * a function with reserved concurrency R runs at most R at once; the others share what the
 * account's limit leaves unreserved. Beyond that: TooManyRequestsException (429).
 */
public final class InvocationService implements LambdaApi.Invoker, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InvocationService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FUNCTION_ERROR_HEADER = "X-Amz-Function-Error";
    private static final int SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024; // Lambda: 6 MB request and response
    private static final int EVENT_PAYLOAD_LIMIT = 256 * 1024; // Lambda: 256 KB for asynchronous invocation
    private static final int LOG_TAIL_BYTES = 4096;
    /** Project extension: run on a worker of this network model (shared | legacy). */
    public static final String NETWORK_MODEL_HEADER = "x-hyperplane-network-model";

    /**
     * {@code eventConcurrency}: asynchronous invocations running at once; {@code eventDelayScale}:
     * multiplies every retry delay of the event queue (1 in service, e.g. 0.001 in tests);
     * {@code eventsPerAccount}: the events an account may have waiting before Event invokes are
     * refused; {@code coldStartAllowance}: added to a function's timeout for the worker's answer.
     */
    public record Settings(int eventConcurrency, double eventDelayScale, int eventsPerAccount, Duration coldStartAllowance) {
        /** Enough attempts at once to keep a worker's environments busy, few enough to leave the store's pool to the API. */
        public static final int DEFAULT_EVENT_CONCURRENCY = 64;
        /** An account's backlog is bounded so one account cannot fill the store; far above any burst a test or demo makes. */
        public static final int DEFAULT_EVENTS_PER_ACCOUNT = 100_000;
        public static final Settings DEFAULTS = new Settings(DEFAULT_EVENT_CONCURRENCY, 1.0, DEFAULT_EVENTS_PER_ACCOUNT, Duration.ofSeconds(90));

        public Settings {
            if (eventConcurrency < 1) {
                throw new IllegalArgumentException("event concurrency " + eventConcurrency + ": must be at least 1");
            }
            if (!(eventDelayScale > 0) || eventDelayScale > 1) {
                throw new IllegalArgumentException("--event-delay-scale " + eventDelayScale + ": must be more than 0 and at most 1");
            }
            if (eventsPerAccount < 1) {
                throw new IllegalArgumentException("--events-per-account " + eventsPerAccount + ": must be at least 1");
            }
        }

        public Settings withEventDelayScale(double scale) {
            return new Settings(eventConcurrency, scale, eventsPerAccount, coldStartAllowance);
        }

        public Settings withEventsPerAccount(int bound) {
            return new Settings(eventConcurrency, eventDelayScale, bound, coldStartAllowance);
        }
    }

    /** How long the event dispatcher sleeps at most without a signal: the check for leases that ended. */
    private static final Duration EVENT_BACKSTOP = Duration.ofSeconds(5);

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
    private final Database db;
    private final EventQueue events;

    /** Starts the event queue: what a previous process left queued or running in {@code db} runs again. */
    public InvocationService(Database db, WorkerRegistry workers, String token, int accountConcurrency, Settings settings, Clock clock) {
        this.db = db;
        this.workers = workers;
        this.token = token;
        this.accountConcurrency = accountConcurrency;
        this.settings = settings;
        this.events = new EventQueue(db, clock, new EventQueue.Settings(settings.eventConcurrency(), settings.eventDelayScale(),
                settings.eventsPerAccount(), settings.coldStartAllowance(), EVENT_BACKSTOP), this::attempt).start();
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
                // Committed before the 202: an acknowledged event survives a crash. Its request id is the response's.
                events.enqueue(new EventStore.NewEvent(requestId, target.account(), target.region(), name, target.version().version(),
                        headers.get(NETWORK_MODEL_HEADER), payload));
                return CompletableFuture.completedFuture(new LambdaApi.Response(202, null, Map.of("X-Amz-Executed-Version", target.version().version(),
                        "x-amzn-RequestId", requestId)));
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

    /** The account's functions' asynchronous invocations as the store counts them: queued, running, succeeded, retried, dead, redelivered. */
    public List<EventStore.Counts> eventCounts(String account) {
        return events.counts(account);
    }

    /**
     * What {@code hyperplane events} reads (GET /hyperplane/v1/events):
     * {"Functions":[{"FunctionName","Queued","InFlight","Succeeded","Retried","Dead","Redelivered"}]}.
     */
    public String eventCountsJson(String account) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode functions = root.putArray("Functions");
        for (EventStore.Counts f : eventCounts(account)) {
            functions.addObject().put("FunctionName", f.function()).put("Queued", f.queued()).put("InFlight", f.inFlight())
                    .put("Succeeded", f.succeeded()).put("Retried", f.retried()).put("Dead", f.dead()).put("Redelivered", f.redelivered());
        }
        return root.toString();
    }

    // ---- The function as read for the invocation ----------------------------------------------

    /**
     * An Active function's version as one read of the store found it: the subnets it runs in with
     * their ENIs, its reserved concurrency (null: none) and what the account's other functions reserve.
     */
    record Target(String account, String region, Version version, Integer reservedConcurrency, List<Subnet> subnets, long sumReservedOthers) {
        /** The VPC's base address + 2, its AmazonProvidedDNS, when the version runs in subnets. */
        private static final int AMAZON_PROVIDED_DNS = 2;

        String key() {
            return account + "/" + version.name();
        }

        /**
         * The resolver the function's environments use: in a VPC, the VPC's AmazonProvidedDNS, as on AWS
         * (the reserved base + 2 of its primary CIDR block); without one, the service's resolver, on the
         * service egress's subnet.
         */
        String nameserver() {
            return subnets.isEmpty() ? Internet.SERVICE_RESOLVER
                    : Ipv4Address.format(Ipv4Cidr.parse(subnets.getFirst().vpcCidr()).network() + AMAZON_PROVIDED_DNS);
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
                t.subnets().stream().map(s -> new InvokeRequest.Subnet(s.subnetId(), s.eniId(), s.securityGroupIds())).toList(), t.nameserver(),
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

    /**
     * One attempt of a queued event, on its own virtual thread: the function as the store has it
     * now, its concurrency, then the worker. Every way it can go is an {@link Attempt}, for the
     * queue's retry rules.
     */
    private Attempt attempt(EventStore.Event e) {
        EventStore.NewEvent event = e.event();
        Found found = db.inTransaction(c -> target(c, event));
        if (found.target() == null) {
            return found.cannotRun();
        }
        Target target = found.target();
        Call call = new Call(event.requestId(), target, event.payload(), "None", null, event.networkModel());
        try {
            String slot = acquire(target);
            try {
                return switch (await(run(call))) {
                    case InvokeResult.Success s -> new Attempt.Succeeded(s.payload().bytes());
                    case InvokeResult.FunctionError f -> new Attempt.FunctionFailed(f.functionError(), f.payload().bytes());
                    case InvokeResult.ServiceError s -> failed(new LambdaError(s.errorType(), s.status(), s.message()));
                };
            } finally {
                slots.release(slot);
            }
        } catch (LambdaError le) {
            return failed(le);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            return new Attempt.SystemFailed("interrupted: the control plane is stopping");
        }
    }

    /** A service-side failure: a throttle (429: the concurrency is in use) or a system error. */
    private static Attempt failed(LambdaError e) {
        return e.status() == 429 ? new Attempt.Throttled(e.getMessage()) : new Attempt.SystemFailed(e.type() + ": " + e.getMessage());
    }

    /** The event's function as one read found it: where to run it, or (target null) the attempt it makes without running. */
    private record Found(Target target, Attempt cannotRun) {
    }

    private static Found target(Connection c, EventStore.NewEvent e) throws SQLException {
        Optional<Version> version = VersionStore.get(c, e.account(), e.function(), e.qualifier());
        Optional<FunctionStore.Row> function = FunctionStore.get(c, e.account(), e.function());
        if (version.isEmpty() || function.isEmpty()) {
            return new Found(null, new Attempt.Gone("Function not found: " + LambdaApi.arn(e.region(), e.account(), e.function()) + ":" + e.qualifier()));
        }
        if (function.get().status().state() != FunctionState.ACTIVE) {
            // Lambda keeps such events and retries them as system errors until they grow too old.
            return new Found(null, new Attempt.SystemFailed("the function is " + function.get().status().state()));
        }
        return new Found(new Target(e.account(), e.region(), version.get(), function.get().reservedConcurrency(),
                VersionStore.subnets(c, e.account(), e.function(), e.qualifier()), FunctionStore.reservedByOthers(c, e.account(), e.function())), null);
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
        events.close();
        calls.shutdownNow();
        http.shutdownNow();
        clientTasks.shutdownNow();
    }
}
