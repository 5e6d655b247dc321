package io.hyperplane.control.nodes;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Rounds;
import io.hyperplane.control.store.Sql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;

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
    private final Runnable enisChanged;
    private final Map<String, Long> firstVersionWithEni = new ConcurrentHashMap<>();
    private final List<CompletableFuture<Published>> waiters = new ArrayList<>();
    private final Rounds rounds;
    private volatile Published current;
    private volatile boolean baseStale = true;
    private final java.util.concurrent.atomic.AtomicLong requestedFull = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong requestedEnvironments = new java.util.concurrent.atomic.AtomicLong();
    private long builtFull;
    private long builtEnvironments;

    /**
     * {@code published} runs after each new version (the reconciler waits for nodes to apply it);
     * {@code enisChanged} when its set of ENIs differs from the last one's (the fabric's group
     * members change with it).
     */
    public NodeConfigPublisher(Database db, Runnable published, Runnable enisChanged) {
        this.db = db;
        this.published = published;
        this.enisChanged = enisChanged;
        refresh();
        this.rounds = new Rounds("hp-node-config", Duration.ofSeconds(PERIOD_SECONDS), this::refresh, LOG);
    }

    /** Asks for a rebuild soon; cheap, callable from request threads. */
    public void changed() {
        baseStale = true;
        rounds.wake();
    }

    private synchronized Published rebuildEnvironments() {
        NodeSnapshot base = current.snapshot();
        List<NodeSnapshot.ExecutionEnvironment> environments = db.inTransaction(NodeConfigBuilder::environments);
        return publish(new NodeSnapshot(0, base.eeGateway(), base.vpcs(), base.subnets(), base.securityGroups(), base.networkAcls(),
                base.routeTables(), base.enis(), environments));
    }

    /**
     * A version that includes every change committed before this call. Concurrent callers share
     * one rebuild (group commit): a rebuild that started after a caller's commit serves it too,
     * so a burst of changes costs a few rebuilds, not one each.
     */
    public Published refresh() {
        long mine = requestedFull.incrementAndGet();
        synchronized (this) {
            if (builtFull >= mine) {
                return current;
            }
            return rebuildCovering();
        }
    }

    /**
     * Like {@link #refresh}, after a change to execution environments only: the rest of the last
     * snapshot (ENIs, groups, ACLs, routes) is reused unless something marked it stale or a full
     * rebuild is due, so a cold start's registration costs one query.
     */
    public Published refreshEnvironments() {
        long mine = requestedEnvironments.incrementAndGet();
        synchronized (this) {
            if (builtEnvironments >= mine) {
                return current;
            }
            if (baseStale || current == null || builtFull < requestedFull.get()) {
                return rebuildCovering();
            }
            long covers = requestedEnvironments.get(); // every commit counted so far happened before this read
            Published published = rebuildEnvironments();
            builtEnvironments = covers;
            return published;
        }
    }

    /** A full rebuild: serves every request, of either kind, counted before it starts. */
    private Published rebuildCovering() {
        long full = requestedFull.get();
        long environments = requestedEnvironments.get();
        Published published = rebuild();
        builtFull = full;
        builtEnvironments = Math.max(builtEnvironments, environments);
        return published;
    }

    /** Rebuilds now and publishes a new version if the content changed; returns the current one. */
    private synchronized Published rebuild() {
        baseStale = false; // before reading: a change committed during the read marks it stale again
        return publish(db.inTransaction(NodeConfigBuilder::build));
    }

    private Published publish(NodeSnapshot content) {
        Published previous = current;
        if (previous != null && sameContent(previous.snapshot(), content)) {
            return previous;
        }
        long version = nextVersion();
        NodeSnapshot snapshot = new NodeSnapshot(version, content.eeGateway(), content.vpcs(), content.subnets(), content.securityGroups(),
                content.networkAcls(), content.routeTables(), content.enis(), content.executionEnvironments());
        Published next = new Published(version, snapshot, SnapshotJson.write(snapshot));
        for (NodeSnapshot.Eni eni : snapshot.enis()) {
            firstVersionWithEni.putIfAbsent(eni.id(), version);
        }
        firstVersionWithEni.keySet().retainAll(snapshot.enis().stream().map(NodeSnapshot.Eni::id).toList());
        current = next;
        List<CompletableFuture<Published>> woken;
        synchronized (waiters) {
            woken = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (CompletableFuture<Published> w : woken) {
            w.complete(next);
        }
        LOG.info("node config version {} published ({} ENIs, {} execution environments)", version, snapshot.enis().size(),
                snapshot.executionEnvironments().size());
        published.run();
        if (previous == null || !previous.snapshot().enis().equals(snapshot.enis())) {
            enisChanged.run();
        }
        return next;
    }

    private static boolean sameContent(NodeSnapshot a, NodeSnapshot b) {
        return a.eeGateway().equals(b.eeGateway()) && a.vpcs().equals(b.vpcs()) && a.subnets().equals(b.subnets())
                && a.securityGroups().equals(b.securityGroups()) && a.networkAcls().equals(b.networkAcls())
                && a.routeTables().equals(b.routeTables()) && a.enis().equals(b.enis())
                && a.executionEnvironments().equals(b.executionEnvironments());
    }

    private static final long VERSION_BLOCK = 1000;
    private long nextVersion;
    private long versionLimit;

    /**
     * Versions come from the store in blocks (hi/lo): they keep growing across restarts (a restart
     * skips the rest of its block) without a store write per publish.
     */
    private long nextVersion() {
        if (nextVersion >= versionLimit) {
            long start = db.inTransaction(c -> {
                long first = Sql.allocate(c, "node-config");
                Sql.update(c, "UPDATE allocators SET next_value = next_value + ? WHERE name = 'node-config'", VERSION_BLOCK - 1);
                return first;
            });
            nextVersion = start;
            versionLimit = start + VERSION_BLOCK;
        }
        return nextVersion++;
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
            waiters.add(future);
        }
        if (current.version() != after) { // published between the check and the registration
            future.complete(current);
        }
        future.whenComplete((p, e) -> {
            synchronized (waiters) {
                waiters.remove(future);
            }
        });
        return future.completeOnTimeout(null, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        rounds.close();
        List<CompletableFuture<Published>> left;
        synchronized (waiters) {
            left = new ArrayList<>(waiters);
            waiters.clear();
        }
        left.forEach(w -> w.complete(null)); // outside the lock: completing removes the waiter

    }
}
