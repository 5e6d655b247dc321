package io.hyperplane.control.nodes;

import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.concurrent.Rounds;
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

    /**
     * One published version: the snapshot, its JSON as sent to nodes (written when first asked
     * for), and, when only execution environments changed since the version before, that change.
     */
    public static final class Published {
        private final NodeSnapshot snapshot;
        private final EnvironmentsDelta delta;
        private volatile String json;

        Published(NodeSnapshot snapshot, EnvironmentsDelta delta) {
            this.snapshot = snapshot;
            this.delta = delta;
        }

        public long version() {
            return snapshot.version();
        }

        public NodeSnapshot snapshot() {
            return snapshot;
        }

        /** What changed since version {@code delta().base()}; null when more than environments did. */
        public EnvironmentsDelta delta() {
            return delta;
        }

        public String json() {
            String j = json;
            if (j == null) {
                j = SnapshotJson.write(snapshot);
                json = j;
            }
            return j;
        }
    }

    /**
     * Told of every version as it is published, in order, while holding the publisher: a
     * configuration stream to one node. Must not block (it queues a send).
     */
    public interface Subscriber {
        void publish(Published version);
    }

    private final Database db;
    private final Runnable published;
    private final Runnable enisChanged;
    private final Map<String, Long> firstVersionWithEni = new ConcurrentHashMap<>();
    /** ENIs the last rebuild left out, with why (DESIGN.md §9: they fail alone). */
    private volatile Map<String, String> rejectedEnis = Map.of();
    private final List<CompletableFuture<Published>> waiters = new ArrayList<>();
    private final List<Subscriber> subscribers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Rounds rounds;
    private volatile Published current;
    private final java.util.concurrent.atomic.AtomicLong requestedFull = new java.util.concurrent.atomic.AtomicLong();
    private long builtFull; // guarded by rebuilding
    /** Serialises full rebuilds (they read the store without this object's lock). */
    private final Object rebuilding = new Object();
    /** While a rebuild reads the store: the environments changed meanwhile (null otherwise); guarded by this. */
    private java.util.Set<String> changedDuringRebuild;

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
        rounds.wake();
    }

    /**
     * A version that includes every change committed before this call. Concurrent callers share
     * one rebuild (group commit): a rebuild that started after a caller's commit serves it too,
     * so a burst of changes costs a few rebuilds, not one each.
     */
    public Published refresh() {
        long mine = requestedFull.incrementAndGet();
        synchronized (rebuilding) {
            if (builtFull >= mine) {
                return current;
            }
            long full = requestedFull.get();
            Published published = rebuild();
            builtFull = full;
            return published;
        }
    }

    /**
     * A version with execution environments put (replacing any with the same id; those without an
     * ENI are prepared slots, which nodes do not know of) and removed, after the change is
     * committed: the next version is the current one with that change, without reading the store
     * or rebuilding the rest, and nodes on the current version are sent only the change. A change
     * that is already in is no new version. A full rebuild running meanwhile does not hold this up
     * (it reads the store without the lock) and does not lose it ({@link #rebuild}).
     */
    public Published environmentsChanged(List<NodeSnapshot.ExecutionEnvironment> put, List<String> remove) {
        Published published = applyEnvironments(put, remove);
        return published != null ? published : refresh(); // e.g. an ENI the current snapshot does not have yet: read everything
    }

    private synchronized Published applyEnvironments(List<NodeSnapshot.ExecutionEnvironment> put, List<String> remove) {
        Published base = current;
        List<NodeSnapshot.ExecutionEnvironment> bound = put.stream().filter(ee -> ee.eniId() != null).toList();
        List<String> gone = new ArrayList<>(remove);
        put.stream().filter(ee -> ee.eniId() == null).map(NodeSnapshot.ExecutionEnvironment::id).forEach(gone::add); // a slot again
        List<NodeSnapshot.ExecutionEnvironment> before = base.snapshot().executionEnvironments();
        if (EnvironmentsDelta.environments(before, bound, gone).equals(before)) {
            return base;
        }
        EnvironmentsDelta delta = new EnvironmentsDelta(base.version(), nextVersion(), bound, gone);
        NodeSnapshot next;
        try {
            next = delta.applyTo(base.snapshot());
        } catch (IllegalArgumentException e) { // its version goes unused: versions need only grow
            LOG.debug("environments change not applicable to version {} ({}): rebuilding", base.version(), e.getMessage());
            return null;
        }
        if (changedDuringRebuild != null) {
            bound.forEach(ee -> changedDuringRebuild.add(ee.id()));
            changedDuringRebuild.addAll(gone);
        }
        return publish(new Published(next, delta));
    }

    /**
     * Rebuilds from the store and publishes a new version if the content changed; returns the
     * current one. Called holding {@link #rebuilding}. The store is read without this object's
     * lock, so a cold start's environments change is never held up by a rebuild's reads (every
     * few seconds, several milliseconds). An environment changed while it read is newer in memory
     * than in what it read, so for those the rebuilt snapshot takes the current state; for every
     * other one the store's.
     */
    private Published rebuild() {
        synchronized (this) {
            changedDuringRebuild = new java.util.HashSet<>();
        }
        NodeConfigBuilder.Build build = db.inTransaction(NodeConfigBuilder::build);
        NodeSnapshot read = build.snapshot();
        if (!build.rejectedEnis().equals(rejectedEnis)) {
            build.rejectedEnis().forEach((eni, why) -> {
                if (!rejectedEnis.containsKey(eni)) {
                    LOG.warn("ENI {} left out of the node config: {}", eni, why);
                }
            });
            rejectedEnis = Map.copyOf(build.rejectedEnis());
        }
        synchronized (this) {
            java.util.Set<String> changed = changedDuringRebuild;
            changedDuringRebuild = null;
            Published previous = current;
            NodeSnapshot content = read;
            if (!changed.isEmpty() && previous != null) {
                java.util.Set<String> enis = new java.util.HashSet<>(read.enis().stream().map(NodeSnapshot.Eni::id).toList());
                List<NodeSnapshot.ExecutionEnvironment> newer = previous.snapshot().executionEnvironments().stream()
                        .filter(ee -> changed.contains(ee.id()) && enis.contains(ee.eniId())).toList();
                try {
                    content = new NodeSnapshot(0, read.eeGateway(), read.vpcs(), read.subnets(), read.securityGroups(), read.networkAcls(),
                            read.routeTables(), read.enis(), EnvironmentsDelta.environments(read.executionEnvironments(), newer, List.copyOf(changed)));
                } catch (IllegalArgumentException e) { // an environment changed meanwhile no longer fits: the store's state it is
                    LOG.debug("environments changed during the rebuild left as read: {}", e.getMessage());
                }
            }
            if (previous != null && sameContent(previous.snapshot(), content)) {
                return previous;
            }
            return publish(new Published(new NodeSnapshot(nextVersion(), content.eeGateway(), content.vpcs(), content.subnets(),
                    content.securityGroups(), content.networkAcls(), content.routeTables(), content.enis(), content.executionEnvironments()), null));
        }
    }

    private Published publish(Published next) {
        Published previous = current;
        NodeSnapshot snapshot = next.snapshot();
        long version = next.version();
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
        for (Subscriber s : subscribers) {
            s.publish(next);
        }
        for (CompletableFuture<Published> w : woken) {
            w.complete(next);
        }
        if (next.delta() == null) {
            LOG.info("node config version {} published ({} ENIs, {} execution environments)", version, snapshot.enis().size(),
                    snapshot.executionEnvironments().size());
            published.run(); // environments-only versions bring no ENI nodes could be waited for
        } else {
            LOG.debug("node config version {} published ({} execution environments)", version, snapshot.executionEnvironments().size());
        }
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

    /**
     * Adds a subscriber, first telling it of the current version unless that is {@code after}
     * (the version its node already runs); atomically with publishing, so it misses none.
     */
    public synchronized void subscribe(Subscriber subscriber, long after) {
        if (current.version() != after) {
            subscriber.publish(current);
        }
        subscribers.add(subscriber);
    }

    public void unsubscribe(Subscriber subscriber) {
        subscribers.remove(subscriber);
    }

    /** Why the ENI is left out of what nodes are sent, or null when it is not. */
    public String rejection(String eniId) {
        return rejectedEnis.get(eniId);
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
