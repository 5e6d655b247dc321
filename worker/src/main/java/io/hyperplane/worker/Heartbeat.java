package io.hyperplane.worker;

import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The worker's membership of the fleet: a heartbeat every {@link #INTERVAL} registers it (its URL,
 * underlay address, network model and environment count) and brings back the live forwarder nodes
 * and the fleet's plan, which the host's {@link HostFleet} follows and prepared networks tunnel by. A control plane that stops answering
 * is logged once, and again once it answers.
 */
final class Heartbeat implements NetworkAttach.LiveNodes, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Heartbeat.class);
    /** Often enough that the control plane sees a dead worker within its liveness window, rarely enough to cost nothing. */
    static final Duration INTERVAL = Duration.ofSeconds(1);

    private final ControlPlane control;
    private final WorkerSettings settings;
    private final URI url;
    private final IntSupplier environments;
    private final HostFleet fleet;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("hp-worker-heartbeat").daemon().unstarted(r));
    private volatile List<String> nodes = List.of();
    private boolean reachable = true; // the timer's thread alone

    /**
     * @param url          where the worker serves the control plane
     * @param environments how many environments the worker has now
     */
    Heartbeat(ControlPlane control, WorkerSettings settings, URI url, IntSupplier environments, HostFleet fleet) {
        this.fleet = fleet;
        this.control = control;
        this.settings = settings;
        this.url = url;
        this.environments = environments;
    }

    /** Starts beating, the first at once. */
    void start() {
        timer.scheduleWithFixedDelay(this::beat, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One heartbeat. */
    void beat() {
        try {
            nodes = tunnelEnds(send());
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
            Thread.currentThread().interrupt(); // stopping
        } catch (RuntimeException e) {
            LOG.warn("heartbeat failed; the next in {} s", INTERVAL.toSeconds(), e); // the timer stops for good at an exception
        }
    }

    /** Where new environments tunnel to, as the last heartbeat heard it ({@link #tunnelEnds}). */
    List<String> nodes() {
        return nodes;
    }

    /** The live nodes; when none is known, a heartbeat now asks (a cold start that comes before the first beat's answer). */
    @Override
    public List<String> live() throws IOException, InterruptedException {
        List<String> live = nodes;
        if (live.isEmpty()) {
            live = tunnelEnds(send());
            nodes = live;
        }
        return live;
    }

    /**
     * Where new environments tunnel to: with a plan that has a member in service, the fleet's
     * anycast address (the host's group made ready first, so the first packet finds it); with a
     * plan but none in service, nowhere yet; without a plan (a control plane that plans no fleet),
     * the live nodes, the first of which gets the tunnel.
     */
    private List<String> tunnelEnds(WorkerHeartbeatAnswer answer) throws IOException {
        if (answer.fleet() == null) {
            return answer.nodes().stream().map(WorkerHeartbeatAnswer.LiveNode::underlayIp).toList();
        }
        return fleet.apply(answer.fleet()) ? List.of(answer.fleet().anycast()) : List.of();
    }

    private WorkerHeartbeatAnswer send() throws IOException, InterruptedException {
        return control.heartbeat(settings.name(), url, settings.underlayIp(), settings.networkModel().wireName(), environments.getAsInt());
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
