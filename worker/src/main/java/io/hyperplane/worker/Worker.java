package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.config.fleet.Evicted;
import io.hyperplane.config.fleet.Eviction;
import io.hyperplane.config.fleet.FleetError;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.LegacyEniCreated;
import io.hyperplane.config.fleet.Payload;
import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.linux.cgroup.TenantCpu;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code hyperplane worker}: hosts execution environments for the control plane. It serves one
 * call, {@code POST /invoke} (bearer token, loopback only): run this invocation in an idle
 * environment of the same function version, or start a new one (a cold start). Environments are
 * kept warm and reaped after the idle timeout. Every namespace is journaled before it is made, so
 * a worker killed at any point removes what it left behind when it starts again.
 */
public final class Worker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "hp-ee-";

    private final WorkerSettings settings;
    private final ControlClient control;
    private final Journal journal;
    private final HttpServer server;
    private final URI url;
    private final Map<String, Deque<ExecutionEnvironment>> idle = new ConcurrentHashMap<>();
    private final Map<String, ExecutionEnvironment> all = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> placement = new ConcurrentHashMap<>();
    private final CodeCache code = new CodeCache(CodeCache.DEFAULT_MAX_BYTES);
    private final java.util.Set<String> evicted = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextIndex = new AtomicLong();
    private final UidLeases uids;
    private final Metrics metrics = new Metrics();
    private final Thread heartbeat;
    private final Thread reaper;
    private final NetworkSlots slots;
    private volatile List<String> nodes = List.of();
    private volatile boolean running = true;

    private Worker(WorkerSettings settings) throws IOException, InterruptedException {
        this.settings = settings;
        this.uids = new UidLeases(settings.name(), settings.firstUid());
        this.control = new ControlClient(settings.control(), settings.token(), settings.name());
        PrivateFiles.createDirectories(settings.stateDir());
        cleanUpLeftovers();
        this.journal = Journal.openOrCreate(settings.stateDir(), PREFIX + settings.name() + "-");
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        // Platform threads, not virtual ones: a cold start waits on the control stream and process
        // pipes, and a virtual thread resumes only when one of the few carrier threads is free,
        // which on a busy machine costs its network attach milliseconds.
        server.setExecutor(Executors.newCachedThreadPool(r -> Thread.ofPlatform().name("hp-worker-invoke").daemon().unstarted(r)));
        server.createContext("/invoke", this::serveInvoke);
        server.createContext("/metrics", this::serveMetrics);
        server.createContext("/evict", this::serveEvict);
        server.start();
        this.url = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        this.slots = new NetworkSlots(settings, control, journal, () -> nodes, nextIndex, PREFIX + settings.name() + "-", settings.readySlots(),
                (ns, reg, dev) -> {
                    metrics.slotNamespaceMs.add(ns);
                    metrics.slotRegisterMs.add(reg);
                    metrics.slotDeviceMs.add(dev);
                });
        this.heartbeat = Thread.ofPlatform().name("hp-worker-heartbeat").daemon().start(this::heartbeats);
        this.reaper = Thread.ofPlatform().name("hp-worker-reaper").daemon().start(this::reap);
    }

    public static Worker start(WorkerSettings settings) throws IOException, InterruptedException {
        return new Worker(settings);
    }

    public URI url() {
        return url;
    }

    public Metrics metrics() {
        return metrics;
    }

    public int environments() {
        return all.size();
    }

    /** Kills processes and deletes namespaces, cgroups and files a previous run journaled. */
    private void cleanUpLeftovers() throws IOException, InterruptedException {
        if (Files.exists(Journal.file(settings.stateDir()))) {
            List<String> left = Journal.read(settings.stateDir(), warning -> LOG.warn("journal: {}", warning)).namespaces();
            // New environments continue the numbering, so no name of the previous run is reused.
            for (String ns : left) {
                try {
                    nextIndex.accumulateAndGet(Long.parseLong(ns.substring(ns.lastIndexOf('-') + 1)), Math::max);
                } catch (NumberFormatException e) {
                    LOG.debug("journal entry {} has no index", ns);
                }
            }
            List<String> existing = left.stream().filter(Namespaces.list()::contains).toList();
            if (!existing.isEmpty()) {
                LOG.info("removing {} environments a previous run left: {}", existing.size(), existing);
                Namespaces.killProcesses(existing, Duration.ofSeconds(1));
                existing.forEach(Namespaces::delete);
            }
            for (String ns : left) {
                try {
                    control.deregisterEnvironment(ns);
                } catch (IOException e) {
                    LOG.warn("deregistering {} (left by a previous run): {}", ns, e.getMessage());
                }
            }
            Files.delete(Journal.file(settings.stateDir()));
        }
        EnvironmentCgroup.deleteLeftovers(settings.name());
        uids.releaseLeftovers();
        TenantCpu.delete(settings.name());
        ExecutionEnvironment.deleteTree(settings.environmentsRoot());
        // Root's alone: functions see their files only through their sandboxes' mounts.
        PrivateFiles.createDirectories(settings.environmentsRoot());
    }

    private void heartbeats() {
        boolean reachable = true;
        while (running) {
            try {
                nodes = control.heartbeat(settings.name(), url, settings.underlayIp(), settings.networkModel().wireName(), all.size());
                if (!reachable) {
                    LOG.info("control plane {} reached again", settings.control());
                    reachable = true;
                }
            } catch (IOException e) {
                if (reachable) {
                    LOG.warn("control plane {} unreachable: {}", settings.control(), e.getMessage());
                    reachable = false;
                }
            } catch (InterruptedException e) {
                return;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void reap() {
        while (running) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            for (Deque<ExecutionEnvironment> queue : idle.values()) {
                List<ExecutionEnvironment> expired = new ArrayList<>();
                synchronized (queue) {
                    queue.removeIf(ee -> {
                        boolean gone = ee.idleNanos() > settings.idleTimeout().toNanos() || !ee.alive();
                        if (gone) {
                            expired.add(ee);
                        }
                        return gone;
                    });
                }
                expired.forEach(ee -> {
                    LOG.info("environment {} of {} reaped after {} s idle", ee.id, ee.function.functionName(), ee.idleNanos() / 1_000_000_000L);
                    destroy(ee);
                });
            }
        }
    }

    // ---- Invocations ----------------------------------------------------------------------------

    private void serveInvoke(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!authorized(exchange)) {
                return;
            }
            if (!exchange.getRequestMethod().equals("POST")) {
                send(exchange, 405, FleetError.of("POST only"));
                return;
            }
            InvokeRequest request;
            try {
                request = FleetJson.decode(exchange.getRequestBody().readAllBytes(), InvokeRequest.class);
            } catch (IllegalArgumentException e) {
                send(exchange, 400, FleetError.of(e.getMessage()));
                return;
            }
            send(exchange, 200, invoke(request));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("invocation failed", e);
            send(exchange, 500, FleetError.of(String.valueOf(e.getMessage())));
        }
    }

    /** POST /evict {"accountId","functionName"}: the function was deleted; its environments go (busy ones when done). */
    private void serveEvict(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!authorized(exchange)) {
                return;
            }
            Eviction eviction;
            try {
                eviction = FleetJson.decode(exchange.getRequestBody().readAllBytes(), Eviction.class);
            } catch (IllegalArgumentException e) {
                send(exchange, 400, FleetError.of(e.getMessage()));
                return;
            }
            String prefix = eviction.accountId() + "/" + eviction.functionName() + "/";
            evicted.add(prefix);
            int ended = 0;
            for (Map.Entry<String, Deque<ExecutionEnvironment>> e : idle.entrySet()) {
                if (!e.getKey().startsWith(prefix)) {
                    continue;
                }
                List<ExecutionEnvironment> gone;
                synchronized (e.getValue()) {
                    gone = new ArrayList<>(e.getValue());
                    e.getValue().clear();
                }
                gone.forEach(this::destroy);
                ended += gone.size();
            }
            LOG.info("function {} deleted: {} idle environments ended", prefix, ended);
            send(exchange, 200, new Evicted(ended));
        }
    }

    /** The control plane's bearer token, or a 401 answered here. */
    private boolean authorized(HttpExchange exchange) throws IOException {
        String auth = exchange.getRequestHeaders().getFirst("Authorization");
        if (auth != null && MessageDigest.isEqual(auth.getBytes(StandardCharsets.UTF_8), ("Bearer " + settings.token()).getBytes(StandardCharsets.UTF_8))) {
            return true;
        }
        send(exchange, 401, FleetError.of("missing or wrong bearer token"));
        return false;
    }

    private void serveMetrics(HttpExchange exchange) throws IOException {
        try (exchange) {
            ObjectNode json = (ObjectNode) metrics.json(all.size());
            json.put("readySlots", slots.ready());
            json.putObject("bindsAnswered").put("overControlStream", control.registeredOverStream.get()).put("overHttp", control.registeredOverHttp.get());
            send(exchange, 200, json.toString());
        }
    }

    /** A fleet message: the control plane's to read. */
    private static void send(HttpExchange exchange, int status, Object message) throws IOException {
        send(exchange, status, FleetJson.encode(message));
    }

    private static void send(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Runs one invocation, warm or cold; the answer the control plane turns into Invoke's response. */
    InvokeResult invoke(InvokeRequest r) throws InterruptedException {
        evicted.removeIf(r.environmentKey()::startsWith); // a function of that name exists again
        ExecutionEnvironment ee = takeIdle(r.environmentKey());
        boolean cold = ee == null;
        if (cold) {
            try {
                ee = coldStart(r);
            } catch (ServiceError e) {
                return new InvokeResult.ServiceError(e.type, e.status, e.getMessage());
            } catch (ExecutionEnvironment.InitFailed e) {
                metrics.initFailures.incrementAndGet();
                String log = e.log + "INIT_REPORT Init Duration: n/a\tPhase: init\tStatus: error\tError Type: " + e.errorType + "\n"
                        + "START RequestId: " + r.requestId() + " Version: " + r.version() + "\nEND RequestId: " + r.requestId() + "\n";
                return new InvokeResult.FunctionError("Unhandled", new Payload(e.body.getBytes(StandardCharsets.UTF_8)), log);
            } catch (IOException e) {
                LOG.error("cold start of {} failed", r.functionName(), e);
                return new InvokeResult.ServiceError("ServiceException", 500, "The environment could not be started: " + e.getMessage());
            }
        }
        ExecutionEnvironment.Result result = ee.invoke(r);
        metrics.invocations.incrementAndGet();
        if (result.fatal() || !ee.alive()) {
            destroy(ee);
        } else {
            giveBack(ee);
        }
        return result.functionError() == null ? new InvokeResult.Success(new Payload(result.payload()), result.log())
                : new InvokeResult.FunctionError(result.functionError(), new Payload(result.payload()), result.log());
    }

    private ExecutionEnvironment takeIdle(String key) {
        Deque<ExecutionEnvironment> queue = idle.get(key);
        if (queue == null) {
            return null;
        }
        synchronized (queue) {
            while (!queue.isEmpty()) {
                ExecutionEnvironment ee = queue.pollLast(); // the most recently used: warmest
                if (ee.alive()) {
                    return ee;
                }
                destroy(ee);
            }
        }
        return null;
    }

    private void giveBack(ExecutionEnvironment ee) {
        if (evicted.stream().anyMatch(ee.key::startsWith)) {
            destroy(ee); // its function was deleted while it ran
            return;
        }
        Deque<ExecutionEnvironment> queue = idle.computeIfAbsent(ee.key, k -> new ArrayDeque<>());
        synchronized (queue) {
            queue.addLast(ee);
        }
    }

    /** A failure Lambda reports as a service error (legacy ENI creation): type and HTTP status. */
    static final class ServiceError extends Exception {
        final String type;
        final int status;

        ServiceError(String type, int status, String message) {
            super(message);
            this.type = type;
            this.status = status;
        }
    }

    private ExecutionEnvironment coldStart(InvokeRequest r) throws IOException, InterruptedException, ServiceError, ExecutionEnvironment.InitFailed {
        long t0 = System.nanoTime();
        EnvironmentNetwork network = null;
        String namespace = null;
        String address = null; // a taken slot's, given back if the cold start fails before its network exists
        String legacy = null;
        long index;
        double[] eniCreation = {Double.NaN, 0};
        try {
            if (r.inVpc()) {
                List<String> live = liveNodes();
                if (live.isEmpty()) {
                    throw new ServiceError("ServiceException", 500, "No forwarder node is live: the function's VPC cannot be reached.");
                }
                InvokeRequest.Subnet subnet = r.subnets().get(Math.floorMod(placement.computeIfAbsent(r.environmentKey(), k -> new AtomicInteger())
                        .getAndIncrement(), r.subnets().size()));
                String eni = subnet.eniId();
                if (settings.networkModel() == WorkerSettings.NetworkModel.LEGACY) {
                    eni = legacy = createLegacyEni(r, subnet, eniCreation);
                }
                long a0 = System.nanoTime();
                EnvironmentNetwork.Slot slot = slots.take(live.getFirst());
                namespace = slot.namespace();
                address = slot.ip();
                index = slot.index();
                long a1 = System.nanoTime();
                try {
                    network = EnvironmentNetwork.bind(settings, control, slot, eni, legacy);
                } finally {
                    slots.bound();
                }
                metrics.attachBindMs.add((System.nanoTime() - a1) / 1e6);
                metrics.attachSlotWaitMs.add((a1 - a0) / 1e6);
            } else {
                index = nextIndex.incrementAndGet();
                namespace = PREFIX + settings.name() + "-" + index;
                journal.recordNamespace(namespace);
                Namespaces.add(namespace);
                // On the cold start's path (one nft process, about 5 ms): no network is prepared for these.
                RuntimeApiConnectionLimit.load(namespace);
                EnvironmentNetwork.batch(namespace, List.of("link set lo up"));
                network = new EnvironmentNetwork(namespace, 0, null, null, null, null);
            }
            // Network attach: what the cold start waited for (legacy: including its own ENI's creation).
            double attachMs = (System.nanoTime() - t0) / 1e6;
            byte[] zip = code.get(r.codeSha256(), () -> control.code(r.accountId(), r.functionName(), r.version()));
            // A user of its own per live environment, unique on the machine across workers.
            int uid = uids.acquire();
            ExecutionEnvironment ee;
            try {
                ee = ExecutionEnvironment.start(settings, namespace, uid, r, network, attachMs, eniCreation, zip);
            } catch (IOException | InterruptedException | ExecutionEnvironment.InitFailed | RuntimeException e) {
                uids.release(uid); // start removed everything it made, the cgroup's processes included
                throw e;
            }
            all.put(namespace, ee);
            metrics.coldStart(ee.phases(), (System.nanoTime() - t0) / 1e6);
            LOG.info("environment {} started for {}:{} in {} (attach {} ms, process {} ms, sandbox {} ms, init {} ms)", namespace, r.functionName(), r.version(),
                    network.eniId() == null ? "no VPC" : network.eniId(), fmt(ee.phases().networkAttachMs()), fmt(ee.phases().processStartMs()),
                    fmt(ee.phases().sandboxMs()), fmt(ee.phases().runtimeInitMs()));
            return ee;
        } catch (IOException | InterruptedException | ServiceError | ExecutionEnvironment.InitFailed | RuntimeException e) {
            if (namespace != null) {
                removeNetwork(namespace, network != null ? network : new EnvironmentNetwork(namespace, 0, address, null, null, legacy));
            } else if (legacy != null) {
                deleteLegacyEni(legacy);
            }
            throw e;
        }
    }

    private List<String> liveNodes() throws IOException, InterruptedException {
        List<String> live = nodes;
        if (live.isEmpty()) {
            live = control.heartbeat(settings.name(), url, settings.underlayIp(), settings.networkModel().wireName(), all.size());
            nodes = live;
        }
        return live;
    }

    /** Legacy model: the environment's own ENI, created in the cold start's path (rate-limited like EC2). */
    private String createLegacyEni(InvokeRequest r, InvokeRequest.Subnet subnet, double[] creation) throws IOException, InterruptedException, ServiceError {
        long c0 = System.nanoTime();
        try {
            LegacyEniCreated created = control.createLegacyEni(r.accountId(), r.functionName(), subnet.subnetId(), subnet.securityGroupIds());
            metrics.legacyEnisCreated.incrementAndGet();
            creation[0] = (System.nanoTime() - c0) / 1e6;
            if (created.throttled()) {
                metrics.legacyThrottled.incrementAndGet();
                creation[1] = 1;
            }
            return created.eniId();
        } catch (ControlClient.ControlException e) {
            if ("EC2ThrottledException".equals(e.errorType)) {
                metrics.legacyThrottled.incrementAndGet();
            }
            metrics.legacyFailures.incrementAndGet();
            throw new ServiceError(e.errorType == null ? "ServiceException" : e.errorType, e.status, e.getMessage());
        } finally {
            metrics.eniCreateMs.add((System.nanoTime() - c0) / 1e6);
        }
    }

    private void deleteLegacyEni(String eniId) {
        try {
            control.deleteLegacyEni(eniId);
        } catch (IOException e) {
            LOG.warn("deleting legacy ENI {}: {}", eniId, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String fmt(double ms) {
        return String.format("%.1f", ms);
    }

    private void destroy(ExecutionEnvironment ee) {
        all.remove(ee.id);
        if (ee.destroy()) {
            uids.release(ee.uid);
        } else {
            // A process of it survived SIGKILL (stuck in the kernel, say): its uid stays leased until this worker restarts.
            LOG.warn("environment {} still has processes after teardown; uid {} stays leased", ee.id, ee.uid);
        }
        removeNetwork(ee.id, ee.network);
    }

    /** Deletes the namespace (its tunnel goes with it), the registration, and a legacy ENI. */
    private void removeNetwork(String namespace, EnvironmentNetwork network) {
        slots.discard(namespace, network.ip());
        if (network.legacyEniId() != null) {
            deleteLegacyEni(network.legacyEniId());
        }
    }

    @Override
    public void close() {
        running = false;
        heartbeat.interrupt();
        reaper.interrupt();
        server.stop(0);
        slots.close();
        for (ExecutionEnvironment ee : List.copyOf(all.values())) {
            destroy(ee);
        }
        control.closeStream();
        try {
            control.leave(settings.name());
        } catch (IOException e) {
            LOG.debug("leaving: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            // Whatever was still being prepared when we stopped: every namespace this run made is journaled.
            List<String> made = Journal.read(settings.stateDir(), warning -> LOG.warn("journal: {}", warning)).namespaces();
            List<String> left = made.stream().filter(Namespaces.list()::contains).toList();
            if (!left.isEmpty()) {
                Namespaces.killProcesses(left, Duration.ofSeconds(1));
                left.forEach(namespace -> slots.discard(namespace, null));
            }
            Files.deleteIfExists(Journal.file(settings.stateDir()));
        } catch (IOException e) {
            LOG.warn("removing the journal: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        EnvironmentCgroup.deleteLeftovers(settings.name());
        uids.releaseLeftovers();
        TenantCpu.delete(settings.name());
        ExecutionEnvironment.deleteTree(settings.environmentsRoot());
    }

    /** Cold-start phases and counts, served at GET /metrics. */
    public static final class Metrics {
        final AtomicLong invocations = new AtomicLong();
        final AtomicLong coldStarts = new AtomicLong();
        final AtomicLong initFailures = new AtomicLong();
        final AtomicLong legacyEnisCreated = new AtomicLong();
        final AtomicLong legacyThrottled = new AtomicLong();
        final AtomicLong legacyFailures = new AtomicLong();
        final Samples networkAttachMs = new Samples();
        final Samples processStartMs = new Samples();
        final Samples sandboxMs = new Samples();
        final Samples runtimeInitMs = new Samples();
        final Samples coldStartMs = new Samples();
        final Samples eniCreateMs = new Samples();
        final Samples attachBindMs = new Samples();
        final Samples attachSlotWaitMs = new Samples();
        final Samples slotNamespaceMs = new Samples();
        final Samples slotRegisterMs = new Samples();
        final Samples slotDeviceMs = new Samples();

        void coldStart(ExecutionEnvironment.Phases phases, double totalMs) {
            coldStarts.incrementAndGet();
            networkAttachMs.add(phases.networkAttachMs());
            processStartMs.add(phases.processStartMs());
            if (!Double.isNaN(phases.sandboxMs())) {
                sandboxMs.add(phases.sandboxMs());
            }
            runtimeInitMs.add(phases.runtimeInitMs());
            coldStartMs.add(totalMs);
        }

        public JsonNode json(int environments) {
            ObjectNode o = JSON.createObjectNode().put("environments", environments).put("invocations", invocations.get())
                    .put("coldStarts", coldStarts.get()).put("initFailures", initFailures.get()).put("legacyEnisCreated", legacyEnisCreated.get())
                    .put("legacyEniCreationsThrottled", legacyThrottled.get()).put("legacyEniFailures", legacyFailures.get());
            o.set("networkAttachMs", networkAttachMs.json());
            o.set("processStartMs", processStartMs.json());
            o.set("sandboxMs", sandboxMs.json());
            o.set("runtimeInitMs", runtimeInitMs.json());
            o.set("coldStartMs", coldStartMs.json());
            o.set("legacyEniCreateMs", eniCreateMs.json());
            ObjectNode steps = o.putObject("networkAttachSteps");
            steps.set("takeSlotMs", attachSlotWaitMs.json());
            steps.set("bindUntilEveryNodeHasItMs", attachBindMs.json());
            ObjectNode slot = o.putObject("slotPreparation");
            slot.set("namespaceMs", slotNamespaceMs.json());
            slot.set("registerVniMs", slotRegisterMs.json());
            slot.set("tunnelDeviceMs", slotDeviceMs.json());
            return o;
        }
    }

    /** Recorded samples with percentiles (cold starts are few; all are kept). */
    static final class Samples {
        private final List<Double> values = new ArrayList<>();

        synchronized void add(double v) {
            values.add(v);
        }

        synchronized JsonNode json() {
            List<Double> sorted = new ArrayList<>(values);
            sorted.sort(null);
            ObjectNode o = JSON.createObjectNode().put("count", sorted.size());
            if (!sorted.isEmpty()) {
                o.put("p50", percentile(sorted, 50)).put("p99", percentile(sorted, 99)).put("max", sorted.getLast());
            }
            return o;
        }

        static double percentile(List<Double> sorted, int p) {
            int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
            return Math.round(sorted.get(Math.max(0, i)) * 100) / 100.0;
        }
    }
}
