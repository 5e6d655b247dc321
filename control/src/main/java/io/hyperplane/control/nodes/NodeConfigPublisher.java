package io.hyperplane.control.nodes;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The versioned configuration every forwarder node runs on. Whenever the store changes (and every
 * few seconds anyway) it rebuilds the snapshot; only when the content differs does it take a new
 * version from the store's counter, so versions only grow, across restarts too, and a node that
 * already has the current version is not sent it again. Nodes long-poll {@link #next}: it
 * completes as soon as a version other than the node's is published.
 */
public final class NodeConfigPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeConfigPublisher.class);
    private static final long PERIOD_SECONDS = 2;

    /** One published version: the snapshot and its JSON as sent to nodes. */
    public record Published(long version, NodeSnapshot snapshot, String json) {
    }

    private final Database db;
    private final Runnable published;
    private final Map<String, Long> firstVersionWithEni = new ConcurrentHashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final Semaphore wakeUp = new Semaphore(0);
    private final Thread thread;
    private volatile Published current;
    private volatile boolean running = true;
    private final java.util.concurrent.atomic.AtomicLong requested = new java.util.concurrent.atomic.AtomicLong();
    private long built;

    private record Waiter(long after, CompletableFuture<Published> future) {
    }

    /** {@code published} runs after each new version (the reconciler waits for nodes to apply it). */
    public NodeConfigPublisher(Database db, Runnable published) {
        this.db = db;
        this.published = published;
        refresh();
        this.thread = Thread.ofPlatform().name("hp-node-config").daemon().start(this::loop);
    }

    /** Asks for a rebuild soon; cheap, callable from request threads. */
    public void changed() {
        wakeUp.release();
    }

    /**
     * A version that includes every change committed before this call. Concurrent callers share
     * one rebuild (group commit): a rebuild that started after a caller's commit serves it too,
     * so a burst of execution environments costs a few rebuilds, not one each.
     */
    public Published refresh() {
        long mine = requested.incrementAndGet();
        synchronized (this) {
            if (built >= mine) {
                return current;
            }
            long covers = requested.get(); // every commit counted so far happened before this rebuild starts
            Published published = rebuild();
            built = covers;
            return published;
        }
    }

    /** Rebuilds now and publishes a new version if the content changed; returns the current one. */
    private synchronized Published rebuild() {
        NodeSnapshot content = db.inTransaction(NodeConfigBuilder::build);
        Published previous = current;
        if (previous != null && sameContent(previous.snapshot(), content)) {
            return previous;
        }
        long version = db.inTransaction(c -> Sql.allocate(c, "node-config"));
        NodeSnapshot snapshot = new NodeSnapshot(version, content.eeGateway(), content.vpcs(), content.subnets(), content.securityGroups(),
                content.networkAcls(), content.routeTables(), content.enis(), content.executionEnvironments());
        Published next = new Published(version, snapshot, SnapshotJson.write(snapshot));
        for (NodeSnapshot.Eni eni : snapshot.enis()) {
            firstVersionWithEni.putIfAbsent(eni.id(), version);
        }
        firstVersionWithEni.keySet().retainAll(snapshot.enis().stream().map(NodeSnapshot.Eni::id).toList());
        current = next;
        List<Waiter> woken;
        synchronized (waiters) {
            woken = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter w : woken) {
            w.future().complete(next);
        }
        LOG.info("node config version {} published ({} ENIs, {} execution environments)", version, snapshot.enis().size(),
                snapshot.executionEnvironments().size());
        published.run();
        return next;
    }

    private static boolean sameContent(NodeSnapshot a, NodeSnapshot b) {
        return a.eeGateway().equals(b.eeGateway()) && a.vpcs().equals(b.vpcs()) && a.subnets().equals(b.subnets())
                && a.securityGroups().equals(b.securityGroups()) && a.networkAcls().equals(b.networkAcls())
                && a.routeTables().equals(b.routeTables()) && a.enis().equals(b.enis())
                && a.executionEnvironments().equals(b.executionEnvironments());
    }

    public Published current() {
        return current;
    }

    /** The first version that contains the ENI (so a node running it or later has it), or -1. */
    public long versionWithEni(String eniId) {
        return firstVersionWithEni.getOrDefault(eniId, -1L);
    }

    /**
     * Completes with the current version at once if it differs from {@code after}, else with the
     * next one published, or with null after {@code wait}.
     */
    public CompletableFuture<Published> next(long after, Duration wait) {
        Published now = current;
        if (now.version() != after) {
            return CompletableFuture.completedFuture(now);
        }
        CompletableFuture<Published> future = new CompletableFuture<>();
        synchronized (waiters) {
            waiters.add(new Waiter(after, future));
        }
        if (current.version() != after) { // published between the check and the registration
            future.complete(current);
        }
        future.whenComplete((p, e) -> {
            synchronized (waiters) {
                waiters.removeIf(w -> w.future() == future);
            }
        });
        return future.completeOnTimeout(null, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void loop() {
        while (running) {
            try {
                wakeUp.tryAcquire(PERIOD_SECONDS, TimeUnit.SECONDS);
                wakeUp.drainPermits();
                if (running) {
                    refresh();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("node config rebuild failed, retrying: {}", e.getMessage(), e);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Waiter> left;
        synchronized (waiters) {
            left = new ArrayList<>(waiters);
            waiters.clear();
        }
        left.forEach(w -> w.future().complete(null)); // outside the lock: completing removes the waiter

    }
}
