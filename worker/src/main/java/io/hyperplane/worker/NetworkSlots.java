package io.hyperplane.worker;

import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Environment networks prepared ahead of need, so a cold start's network attach is only the bind
 * (as Lambda keeps its sandboxes' networking ready): a background thread keeps {@code target}
 * slots ready while a forwarder node is live. When the pool is empty a cold start prepares one
 * itself.
 * <p>
 * When it refills matters on a small machine. Preparing a slot takes the control plane's store and
 * a few processes' worth of CPU, and a cold start's bind waits for both, so while cold starts come
 * the thread replaces a taken slot right after that cold start has bound its own ({@link #bind})
 * &mdash; the quietest moment before the next one &mdash; and refills freely only after
 * {@link #QUIET_NANOS} without any.
 */
final class NetworkSlots implements NetworkSource, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NetworkSlots.class);
    private static final long QUIET_NANOS = 1_000_000_000L;

    private final WorkerSettings settings;
    private final ControlPlane control;
    private final Journal journal;
    private final Supplier<List<String>> nodes;
    private final AtomicLong nextIndex;
    private final EnvironmentNetwork.Steps steps;
    private final String prefix;
    private final int target;
    private final EnvironmentAddresses addresses = new EnvironmentAddresses();
    private final LinkedBlockingDeque<EnvironmentNetwork.Slot> ready = new LinkedBlockingDeque<>();
    private final Semaphore bound = new Semaphore(0);
    private final Thread filler;
    private volatile boolean running = true;

    /**
     * @param nodes     where tunnels go as last heard (a slot's tunnel goes to the first: the anycast address, or a node)
     * @param lastIndex the highest index a namespace of this worker had (its previous run's): new ones continue after it
     * @param prefix    what every namespace of this worker's is named with, before its index
     * @param target    how many slots to keep ready
     */
    NetworkSlots(WorkerSettings settings, ControlPlane control, Journal journal, Supplier<List<String>> nodes, long lastIndex,
                 String prefix, int target, EnvironmentNetwork.Steps steps) {
        this.settings = settings;
        this.control = control;
        this.journal = journal;
        this.nodes = nodes;
        this.nextIndex = new AtomicLong(lastIndex);
        this.prefix = prefix;
        this.target = target;
        this.steps = steps;
        this.filler = Thread.ofPlatform().name("hp-worker-slots").daemon().start(this::fill);
    }

    int ready() {
        return ready.size();
    }

    private volatile long lastTakenNanos;

    /** A ready slot, or a new one prepared now (on the caller's time) when none is. */
    @Override
    public EnvironmentNetwork.Slot take(String nodeIp) throws IOException, InterruptedException {
        lastTakenNanos = System.nanoTime();
        EnvironmentNetwork.Slot slot = ready.pollFirst();
        return slot != null ? slot : prepare(nodeIp);
    }

    private EnvironmentNetwork.Slot prepare(String nodeIp) throws IOException, InterruptedException {
        long index = nextIndex.incrementAndGet();
        String namespace = prefix + index;
        String ip = addresses.take();
        try {
            return EnvironmentNetwork.prepare(settings, control, journal, namespace, index, ip, nodeIp, steps);
        } catch (IOException | InterruptedException | RuntimeException e) {
            discardAfterFailure(namespace, ip);
            throw e;
        }
    }

    private void discardAfterFailure(String namespace, String ip) {
        boolean interrupted = Thread.interrupted(); // cleaning up spawns processes: not while interrupted
        discard(namespace, ip);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void fill() {
        // Ahead of need: the ip and ethtool processes this thread runs go at nice 19, behind cold starts.
        Commands.inBackgroundFromNow();
        while (running) {
            try {
                boolean afterBind = bound.tryAcquire(50, TimeUnit.MILLISECONDS);
                List<String> live = nodes.get();
                boolean quiet = System.nanoTime() - lastTakenNanos > QUIET_NANOS;
                if (ready.size() >= target || live.isEmpty() || !(afterBind || quiet)) {
                    continue;
                }
                ready.addLast(prepare(live.getFirst()));
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                LOG.warn("preparing an environment network failed, retrying: {}", e.getMessage());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Binds the slot; whether that worked or not, the cold start is past its busiest moment: a good one to prepare a replacement. */
    @Override
    public EnvironmentNetwork bind(EnvironmentNetwork.Slot slot, String eniId, String legacyEniId) throws IOException, InterruptedException {
        try {
            return EnvironmentNetwork.bind(settings, control, slot, eniId, legacyEniId);
        } finally {
            bound.release();
        }
    }

    /** Removes a slot's namespace and registration, then gives its address back (null: it has none). */
    @Override
    public void discard(String namespace, String ip) {
        Namespaces.delete(namespace);
        try {
            control.deregisterEnvironment(namespace);
        } catch (IOException e) {
            LOG.warn("deregistering {}: {}", namespace, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        addresses.release(ip);
    }

    @Override
    public void close() {
        running = false;
        filler.interrupt();
        try {
            filler.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        EnvironmentNetwork.Slot slot;
        while ((slot = ready.pollFirst()) != null) {
            discard(slot.namespace(), slot.ip());
        }
    }
}
