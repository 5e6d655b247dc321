package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.underlay.UdpLivenessProber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code hyperplane worker}: hosts execution environments for the control plane. It serves one
 * call, {@code POST /invoke} (bearer token, loopback only): run this invocation in an idle
 * environment of the same function version, or start a new one (a cold start). Environments are
 * kept warm and reaped after the idle timeout. Every namespace is journaled before it is made, so
 * a worker killed at any point removes what it left behind when it starts again.
 *
 * <p>This class wires the parts and runs the worker's life; each job is a class of its own:
 * <pre>
 *  WorkerEndpoints (HTTP in) ─▶ Invoker ─▶ EnvironmentPool (EnvironmentState)      Heartbeat ─▶ ControlPlane
 *                                 └──────▶ ColdStart ─▶ NetworkAttach ─▶ NetworkSlots
 *                                                   └─▶ CodeCache, UidLeases
 *                                                   └─▶ SandboxedRuntimeLauncher ─▶ SandboxedRuntime, ProcessLog
 *  WorkerWire, ControlWire: the wire formats     WorkerMetrics: GET /metrics     Leftovers: crash safety
 * </pre>
 */
public final class Worker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final String PREFIX = "hp-ee-";
    /** How often idle environments are checked against the idle timeout: its resolution, at no cost. */
    private static final long REAP_EVERY_MS = 500;

    private final WorkerSettings settings;
    private final ControlPlane control;
    private final UidLeases uids;
    private final WorkerEndpoints endpoints;
    private final Heartbeat heartbeat;
    private final HostFleet hostFleet;
    private final NetworkSlots slots;
    private final EnvironmentPool<ExecutionEnvironment> pool;
    private final ScheduledExecutorService reaper =
            Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("hp-worker-reaper").daemon().unstarted(r));

    private Worker(WorkerSettings settings) throws IOException, InterruptedException {
        this.settings = settings;
        this.uids = new UidLeases(settings.name(), settings.firstUid());
        this.control = ControlWire.connect(settings.control(), settings.token(), settings.name());
        PrivateFiles.createDirectories(settings.stateDir());
        long lastIndex = Leftovers.removeAtStart(settings, control, uids);
        // Root's alone: functions see their files only through their sandboxes' mounts.
        PrivateFiles.createDirectories(settings.environmentsRoot());
        String prefix = PREFIX + settings.name() + "-";
        Journal journal = Journal.openOrCreate(settings.stateDir(), prefix);
        WorkerMetrics metrics = new WorkerMetrics();
        this.endpoints = WorkerEndpoints.bind(settings.token());
        // The heartbeat reports the pool's size and the pool is made last; neither is read before the heartbeat starts.
        this.hostFleet = new HostFleet(settings, UdpLivenessProber.Settings.DEFAULTS);
        this.heartbeat = new Heartbeat(control, settings, endpoints.url(), this::environments, hostFleet);
        this.slots = new NetworkSlots(settings, control, journal, heartbeat::nodes, lastIndex, prefix, settings.readySlots(), metrics::slotPrepared);
        ColdStart coldStart = new ColdStart(new NetworkAttach(settings.networkModel(), slots, control, heartbeat, metrics), control,
                new CodeCache(CodeCache.DEFAULT_MAX_BYTES), uids, new SandboxedRuntimeLauncher(settings), metrics);
        this.pool = new EnvironmentPool<>(settings.idleTimeout(), System::nanoTime, coldStart::tearDown);
        Invoker invoker = new Invoker(pool, coldStart, metrics);
        endpoints.start(new WorkerEndpoints.Handler() {
            @Override
            public InvocationEnd invoke(FunctionCall call) throws InterruptedException {
                return invoker.invoke(call);
            }

            @Override
            public int evict(String functionPrefix) {
                return pool.evict(functionPrefix);
            }

            @Override
            public JsonNode metrics() {
                return metrics.json(pool.size(), slots.ready(), control.bindsAnswered());
            }
        });
        heartbeat.start();
        reaper.scheduleWithFixedDelay(this::reap, REAP_EVERY_MS, REAP_EVERY_MS, TimeUnit.MILLISECONDS);
    }

    public static Worker start(WorkerSettings settings) throws IOException, InterruptedException {
        return new Worker(settings);
    }

    public URI url() {
        return endpoints.url();
    }

    private int environments() {
        return pool.size();
    }

    private void reap() {
        try {
            pool.reap();
        } catch (RuntimeException e) {
            LOG.warn("reaping idle environments failed; trying again in {} ms", REAP_EVERY_MS, e); // the timer must keep running
        }
    }

    @Override
    public void close() {
        heartbeat.close();
        reaper.shutdownNow();
        endpoints.close();
        slots.close();
        pool.close();
        control.closeStream();
        try {
            control.leave(settings.name());
        } catch (IOException e) {
            LOG.debug("leaving: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Leftovers.removeAtStop(settings, slots, uids);
        try {
            hostFleet.close();
        } catch (IOException | RuntimeException e) {
            LOG.warn("removing the host's fleet routes: {}", e.getMessage());
        }
    }
}
