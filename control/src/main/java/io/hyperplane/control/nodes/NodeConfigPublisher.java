package io.hyperplane.control.nodes;

import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The versioned configuration every forwarder node runs on. Whenever the store changes (and every
 * few seconds anyway) it rebuilds the snapshot; only when the content differs does it take a new
 * version from the store's counter, so versions only grow, across restarts too, and a node that
 * already has the current version is not sent it again. Nodes subscribe to every version (their
 * configuration stream) or long-poll {@link #next}: it completes as soon as a version other than
 * the node's is published.
 *
 * <p><b>One writer.</b> One thread, the loop, owns what is published: the current version, the
 * subscribers, the long polls waiting for the next version, the rebuild in progress. Every other
 * thread talks to it through one bounded queue of commands, and gets its answer, where it needs
 * one, as a future. There are no locks of ours; the queue is the only hand-off.
 * <pre>
 *   request threads --refresh, environmentsChanged, subscribe, unsubscribe, next---+
 *   request threads --changed: sets a flag; a wake-up only when the flag was down---+
 *   reader thread ----a read of the store, done-------------------------------------+--> [queue] --> loop
 *        ^                                                                                           |
 *        +-------------------------- start a read (at most one at a time) -------------------------+
 *   any thread: current, rejection, versionWithEni read what the loop last published (volatile)
 * </pre>
 * <ul>
 * <li><b>Full rebuilds</b> read the store on the reader thread, never on the loop, so an
 * environments change (a cold start binding its network, applied by the loop in microseconds) is
 * never held up by a read (several milliseconds, every few seconds). An environment changed while a
 * read ran is newer in memory than in what was read, so for those the rebuilt snapshot keeps the
 * loop's state; for every other one the store's.</li>
 * <li><b>Coalescing (group commit).</b> At most one read runs. A read serves every request for one
 * that the loop took before it started; requests that come while it runs share the next read,
 * which starts as soon as it ends. A burst of changes costs a few reads, not one each.</li>
 * <li><b>Back-pressure.</b> {@link #changed} never waits: asks coalesce into one flag, read after
 * every batch of commands. Every other call waits up to {@link Settings#offerWait} for room in the
 * queue; past that it is refused and counted: its future fails with an IllegalStateException (a long
 * poll is answered with null, as on its timeout). Nothing acknowledged is ever dropped: a change is
 * acknowledged only by the version its future completes with, and a refused environments change is
 * already committed, so the next rebuild (asked for at once) publishes it from the store.</li>
 * <li><b>Close</b> ends the loop at any moment: every pending future completes (long polls with
 * null) or fails, and so does every call made afterwards; the read in flight, if any, is waited for
 * and its result dropped.</li>
 * <li><b>Restarts.</b> A new publisher on the same store takes a new block of versions, past every
 * version an earlier one published, and publishes its first version before its constructor
 * returns.</li>
 * </ul>
 */
public final class NodeConfigPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeConfigPublisher.class);
    /** Versions taken from the store at a time (hi/lo): one store write per thousand versions, not one per version. */
    private static final long VERSION_BLOCK = 1000;
    /** How long close waits for the loop and for a read in flight to end (a read takes milliseconds). */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    /**
     * {@code period}: a full rebuild at least this often, whatever was asked, so nothing the store
     * says is missed for longer. {@code queueCapacity}: commands waiting for the loop; far more than
     * a burst brings (one per cold start, per long poll, per stream opened or closed), so a full queue
     * means a stuck loop, not a busy one. {@code offerWait}: how long a caller waits for room before
     * its command is refused; the loop's own pauses (a version block's store write, a subscriber's
     * send) take milliseconds.
     */
    record Settings(Duration period, int queueCapacity, Duration offerWait) {
        static final Settings DEFAULTS = new Settings(Duration.ofSeconds(2), 1024, Duration.ofSeconds(1));

        Settings {
            if (period == null || period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("node config period " + period + ": must be positive");
            }
            if (queueCapacity < 1) {
                throw new IllegalArgumentException("node config queue capacity " + queueCapacity + ": must be at least 1");
            }
            if (offerWait == null || offerWait.isNegative()) {
                throw new IllegalArgumentException("node config offer wait " + offerWait + ": must be zero or more");
            }
        }
    }

    /** What the publisher reads and takes versions from: the store, or a fake in tests. */
    interface Source {
        /** The whole configuration as the store has it now, ENIs nodes cannot take left out with why. */
        NodeConfigBuilder.Build read();

        /** Takes {@code count} versions for good; returns the first. Each call returns more than any before, across restarts. */
        long takeVersions(long count);

        static Source of(Database db) {
            return new Source() {
                @Override
                public NodeConfigBuilder.Build read() {
                    return db.inTransaction(NodeConfigBuilder::build);
                }

                @Override
                public long takeVersions(long count) {
                    return db.inTransaction(c -> {
                        long first = Sql.allocate(c, "node-config");
                        Sql.update(c, "UPDATE allocators SET next_value = next_value + ? WHERE name = 'node-config'", count - 1);
                        return first;
                    });
                }
            };
        }
    }

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
     * Told of every version as it is published, in order, on the publisher's loop: a configuration
     * stream to one node. Must not block (it queues a send): the loop waits for it.
     */
    public interface Subscriber {
        void publish(Published version);
    }

    /** What the loop is asked to do. */
    private sealed interface Command {
    }

    /** A version that includes every change committed before the ask. */
    private record Refresh(CompletableFuture<Published> answer) implements Command {
    }

    private record ApplyEnvironments(List<NodeSnapshot.ExecutionEnvironment> put, List<String> remove,
                                     CompletableFuture<Published> answer) implements Command {
    }

    private record Subscribe(Subscriber subscriber, long after) implements Command {
    }

    private record Unsubscribe(Subscriber subscriber) implements Command {
    }

    private record AwaitNext(long after, CompletableFuture<Published> answer) implements Command {
    }

    /** A read of the store ended, with what it read or how it failed. */
    private record ReadDone(Read read, NodeConfigBuilder.Build build, RuntimeException failure) implements Command {
    }

    /** Look at the flags (a rebuild asked for, closing). */
    private record Wake() implements Command {
    }

    private static final Wake WAKE = new Wake();

    /** A read of the store in flight: whom it answers, and the environments changed since it started. */
    private static final class Read {
        final List<CompletableFuture<Published>> answers;
        final Set<String> changedMeanwhile = new HashSet<>();

        Read(List<CompletableFuture<Published>> answers) {
            this.answers = answers;
        }
    }

    private final Source source;
    private final Runnable enisChanged;
    private final Settings settings;
    private final BlockingQueue<Command> commands;
    private final AtomicBoolean rebuildAsked = new AtomicBoolean();
    private final AtomicLong refused = new AtomicLong();
    private volatile boolean closed;
    private final ExecutorService reader = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("hp-node-config-read").daemon().factory());
    private final Thread loop;

    // Written by the loop only (and by the constructor before the loop starts); read by anyone.
    private volatile Published current;
    /** ENIs the last rebuild left out, with why (DESIGN.md §9: they fail alone). */
    private volatile Map<String, String> rejectedEnis = Map.of();
    private final Map<String, Long> firstVersionWithEni = new ConcurrentHashMap<>();
    /** NAT gateways the last rebuild left out, with why; they fail alone, like ENIs. */
    private volatile Map<String, String> rejectedNatGateways = Map.of();
    private final Map<String, Long> firstVersionWithNatGateway = new ConcurrentHashMap<>();

    // The loop's alone.
    private final List<Subscriber> subscribers = new ArrayList<>();
    private final List<AwaitNext> waiters = new ArrayList<>();
    /** Asked for a read that has not started: they want one that starts after their ask. */
    private final List<CompletableFuture<Published>> wantRead = new ArrayList<>();
    private boolean readWanted;
    private Read reading;
    private long nextPeriodicRead;
    private long nextVersion;
    private long versionLimit;

    /**
     * Publishes the store's configuration now (the first version) and keeps publishing. {@code
     * enisChanged} runs on the loop when a version's set of ENIs differs from the last one's (the
     * fabric's group members change with it); it must not block.
     */
    public NodeConfigPublisher(Database db, Runnable enisChanged) {
        this(Source.of(db), enisChanged, Settings.DEFAULTS);
    }

    NodeConfigPublisher(Source source, Runnable enisChanged, Settings settings) {
        this.source = source;
        this.enisChanged = enisChanged;
        this.settings = settings;
        this.commands = new ArrayBlockingQueue<>(settings.queueCapacity());
        rebuilt(source.read(), Set.of()); // before the loop starts: this thread is still the only one
        nextPeriodicRead = System.nanoTime() + settings.period().toNanos();
        this.loop = Thread.ofPlatform().name("hp-node-config").daemon().start(this::run);
    }

    /** Asks for a rebuild soon; cheap, never waits, callable from request threads. */
    public void changed() {
        if (!rebuildAsked.getAndSet(true)) {
            commands.offer(WAKE); // a full queue is fine: the loop reads the flag after every batch
        }
    }

    /**
     * Completes with a version that includes every change committed before this call (read from
     * the store, group-committed with other asks, see the class comment), or fails as the read
     * did.
     */
    public CompletableFuture<Published> refresh() {
        CompletableFuture<Published> answer = new CompletableFuture<>();
        submit(new Refresh(answer));
        return answer;
    }

    /**
     * A version with execution environments put (replacing any with the same id; those without an
     * ENI are prepared slots, which nodes do not know of) and removed, after the change is
     * committed: the next version is the current one with that change, without reading the store
     * or rebuilding the rest, and nodes on the current version are sent only the change. A change
     * that is already in is no new version. One the current version cannot take (an ENI it does
     * not have yet) is answered by a rebuild instead.
     */
    public CompletableFuture<Published> environmentsChanged(List<NodeSnapshot.ExecutionEnvironment> put, List<String> remove) {
        CompletableFuture<Published> answer = new CompletableFuture<>();
        submit(new ApplyEnvironments(List.copyOf(put), List.copyOf(remove), answer));
        return answer;
    }

    public Published current() {
        return current;
    }

    /**
     * Adds a subscriber, first telling it of the current version unless that is {@code after}
     * (the version its node already runs); in order with publishing, so it misses none. Throws an
     * IllegalStateException when refused (closed, or the queue stayed full): the subscriber would
     * hear of nothing.
     */
    public void subscribe(Subscriber subscriber, long after) {
        String refusal = submit(new Subscribe(subscriber, after));
        if (refusal != null) {
            throw new IllegalStateException("node config publisher: " + refusal);
        }
    }

    /**
     * Removes a subscriber; it may still be told of a version published before the loop takes
     * this. Never throws: once closed there are no subscribers, and a loop stuck so long that this
     * is refused keeps telling it (a closed stream's sends fail quietly) until it is closed.
     */
    public void unsubscribe(Subscriber subscriber) {
        submit(new Unsubscribe(subscriber));
    }

    /** Why the ENI is left out of what nodes are sent, or null when it is not. */
    public String rejection(String eniId) {
        return rejectedEnis.get(eniId);
    }

    /** The first version that contains the ENI (so a node running it or later has it), or -1. */
    public long versionWithEni(String eniId) {
        return firstVersionWithEni.getOrDefault(eniId, -1L);
    }

    /** Why the NAT gateway is left out of what nodes are sent, or null when it is not. */
    public String natGatewayRejection(String natGatewayId) {
        return rejectedNatGateways.get(natGatewayId);
    }

    /** The first version that contains the NAT gateway, or -1. */
    public long versionWithNatGateway(String natGatewayId) {
        return firstVersionWithNatGateway.getOrDefault(natGatewayId, -1L);
    }

    /**
     * Completes with the current version at once if it differs from {@code after}, else with the
     * next one published, or with null after {@code wait} (or when closed).
     */
    public CompletableFuture<Published> next(long after, Duration wait) {
        Published now = current;
        if (now.version() != after) {
            return CompletableFuture.completedFuture(now);
        }
        CompletableFuture<Published> answer = new CompletableFuture<Published>().completeOnTimeout(null, wait.toMillis(), TimeUnit.MILLISECONDS);
        submit(new AwaitNext(after, answer));
        return answer;
    }

    /** Commands refused because the queue stayed full. */
    long refused() {
        return refused.get();
    }

    /**
     * Queues a command, waiting up to {@link Settings#offerWait} for room; else refuses it. A
     * command queued as the loop ends is refused by whichever of this thread and the loop takes it
     * out of the queue, so none is left unanswered. Returns why it was refused, or null.
     */
    private String submit(Command command) {
        if (closed) {
            return refuse(command, "closed");
        }
        boolean queued;
        try {
            queued = commands.offer(command, settings.offerWait().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return refuse(command, "interrupted while waiting for room in its queue");
        }
        if (!queued) {
            refused.incrementAndGet();
            LOG.warn("node config publisher: {} commands queued and none taken for {} ms; refusing {}", commands.size(),
                    settings.offerWait().toMillis(), command.getClass().getSimpleName());
            if (command instanceof ApplyEnvironments) {
                changed(); // committed already: the next rebuild publishes it from the store
            }
            return refuse(command, commands.size() + " commands queued, none taken for " + settings.offerWait().toMillis() + " ms");
        }
        if (closed && commands.remove(command)) {
            return refuse(command, "closed");
        }
        return null;
    }

    /** Answers a command the loop will not run: a long poll with null, a refresh or a change with a failure. Returns why. */
    private static String refuse(Command command, String why) {
        IllegalStateException refusal = new IllegalStateException("node config publisher: " + why);
        switch (command) {
            case Refresh r -> r.answer().completeExceptionally(refusal);
            case ApplyEnvironments a -> a.answer().completeExceptionally(refusal);
            case AwaitNext w -> w.answer().complete(null);
            case ReadDone d -> d.read().answers.forEach(f -> f.completeExceptionally(refusal));
            case Subscribe s -> { } // answered by its caller
            case Unsubscribe u -> { }
            case Wake w -> { }
        }
        return why;
    }

    // ---- The loop: everything below runs on its thread only.

    private void run() {
        try {
            while (!closed) {
                // While a read runs, its end is a command; otherwise the next periodic read is due.
                long wait = reading != null ? Long.MAX_VALUE : Math.max(0, nextPeriodicRead - System.nanoTime());
                Command command = commands.poll(wait, TimeUnit.NANOSECONDS);
                // Take every command already here before starting a read: they were all asked before it.
                for (int taken = 1; command != null; taken++) {
                    if (closed) {
                        refuse(command, "closed");
                        break;
                    }
                    handle(command);
                    command = taken < settings.queueCapacity() ? commands.poll() : null;
                }
                if (rebuildAsked.getAndSet(false) || reading == null && System.nanoTime() - nextPeriodicRead >= 0) {
                    readWanted = true;
                }
                if (readWanted && reading == null && !closed) {
                    startRead();
                }
                waiters.removeIf(w -> w.answer().isDone()); // long polls that timed out
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closed = true; // also when the loop dies of an Error: callers must not queue for nobody
            ended();
        }
    }

    private void handle(Command command) {
        try {
            switch (command) {
                case Refresh r -> {
                    wantRead.add(r.answer());
                    readWanted = true;
                }
                case ApplyEnvironments a -> applyEnvironments(a);
                case Subscribe s -> {
                    if (current.version() != s.after()) {
                        tell(s.subscriber(), current);
                    }
                    subscribers.add(s.subscriber());
                }
                case Unsubscribe u -> subscribers.remove(u.subscriber());
                case AwaitNext w -> {
                    if (current.version() != w.after()) {
                        w.answer().complete(current);
                    } else if (!w.answer().isDone()) {
                        waiters.add(w);
                    }
                }
                case ReadDone d -> readDone(d);
                case Wake w -> { }
            }
        } catch (RuntimeException e) { // one command's failure (a store write for versions) is its own
            LOG.warn("node config publisher: {} failed: {}", command.getClass().getSimpleName(), e.getMessage(), e);
            switch (command) {
                case Refresh r -> r.answer().completeExceptionally(e);
                case ApplyEnvironments a -> a.answer().completeExceptionally(e);
                case ReadDone d -> d.read().answers.forEach(f -> f.completeExceptionally(e));
                default -> { }
            }
        }
    }

    private void applyEnvironments(ApplyEnvironments change) {
        Published base = current;
        List<NodeSnapshot.ExecutionEnvironment> bound = change.put().stream().filter(ee -> ee.eniId() != null).toList();
        List<String> gone = new ArrayList<>(change.remove());
        change.put().stream().filter(ee -> ee.eniId() == null).map(NodeSnapshot.ExecutionEnvironment::id).forEach(gone::add); // a slot again
        List<NodeSnapshot.ExecutionEnvironment> before = base.snapshot().executionEnvironments();
        if (EnvironmentsDelta.environments(before, bound, gone).equals(before)) {
            change.answer().complete(base);
            return;
        }
        EnvironmentsDelta delta = new EnvironmentsDelta(base.version(), nextVersion(), bound, gone);
        NodeSnapshot next;
        try {
            next = delta.applyTo(base.snapshot());
        } catch (IllegalArgumentException e) { // its version goes unused: versions need only grow
            LOG.debug("environments change not applicable to version {} ({}): rebuilding", base.version(), e.getMessage());
            wantRead.add(change.answer()); // e.g. an ENI the current snapshot does not have yet: read everything
            readWanted = true;
            return;
        }
        if (reading != null) {
            bound.forEach(ee -> reading.changedMeanwhile.add(ee.id()));
            reading.changedMeanwhile.addAll(gone);
        }
        change.answer().complete(publish(new Published(next, delta)));
    }

    private void startRead() {
        Read read = new Read(List.copyOf(wantRead));
        wantRead.clear();
        readWanted = false;
        reading = read;
        reader.execute(() -> {
            ReadDone done;
            try {
                done = new ReadDone(read, source.read(), null);
            } catch (RuntimeException e) {
                done = new ReadDone(read, null, e);
            }
            deliver(done);
        });
    }

    /** On the reader: hands a read's result to the loop, waiting for room as long as the loop runs. */
    private void deliver(ReadDone done) {
        try {
            while (!closed) {
                if (commands.offer(done, settings.period().toNanos(), TimeUnit.NANOSECONDS)) {
                    if (closed && commands.remove(done)) {
                        refuse(done, "closed");
                    }
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        refuse(done, "closed"); // the loop fails what it knew of; this answers the rest, if any
    }

    private void readDone(ReadDone done) {
        reading = null;
        nextPeriodicRead = System.nanoTime() + settings.period().toNanos();
        if (done.failure() != null) {
            LOG.warn("node config rebuild failed, retrying within {} s: {}", settings.period().toSeconds(), done.failure().getMessage(),
                    done.failure());
            done.read().answers.forEach(f -> f.completeExceptionally(done.failure()));
            return;
        }
        Published published = rebuilt(done.build(), done.read().changedMeanwhile);
        done.read().answers.forEach(f -> f.complete(published));
    }

    /**
     * Publishes what a read found if its content differs from the current version's; returns the
     * current version. {@code changedMeanwhile}: environments changed since the read started, for
     * which the current version is newer than what was read.
     */
    private Published rebuilt(NodeConfigBuilder.Build build, Set<String> changedMeanwhile) {
        NodeSnapshot read = build.snapshot();
        if (!build.rejectedEnis().equals(rejectedEnis)) {
            build.rejectedEnis().forEach((eni, why) -> {
                if (!rejectedEnis.containsKey(eni)) {
                    LOG.warn("ENI {} left out of the node config: {}", eni, why);
                }
            });
            rejectedEnis = Map.copyOf(build.rejectedEnis());
        }
        if (!build.rejectedNatGateways().equals(rejectedNatGateways)) {
            build.rejectedNatGateways().forEach((nat, why) -> {
                if (!rejectedNatGateways.containsKey(nat)) {
                    LOG.warn("NAT gateway {} left out of the node config: {}", nat, why);
                }
            });
            rejectedNatGateways = Map.copyOf(build.rejectedNatGateways());
        }
        Published previous = current;
        NodeSnapshot content = read;
        if (!changedMeanwhile.isEmpty() && previous != null) {
            Set<String> enis = new HashSet<>(read.enis().stream().map(NodeSnapshot.Eni::id).toList());
            List<NodeSnapshot.ExecutionEnvironment> newer = previous.snapshot().executionEnvironments().stream()
                    .filter(ee -> changedMeanwhile.contains(ee.id()) && enis.contains(ee.eniId())).toList();
            try {
                content = read.withEnvironments(0, EnvironmentsDelta.environments(read.executionEnvironments(), newer, List.copyOf(changedMeanwhile)));
            } catch (IllegalArgumentException e) { // an environment changed meanwhile no longer fits: the store's state it is
                LOG.debug("environments changed during the rebuild left as read: {}", e.getMessage());
            }
        }
        if (previous != null && sameContent(previous.snapshot(), content)) {
            return previous;
        }
        return publish(new Published(content.withVersion(nextVersion()), null));
    }

    private Published publish(Published next) {
        Published previous = current;
        NodeSnapshot snapshot = next.snapshot();
        long version = next.version();
        for (NodeSnapshot.Eni eni : snapshot.enis()) {
            firstVersionWithEni.putIfAbsent(eni.id(), version);
        }
        firstVersionWithEni.keySet().retainAll(snapshot.enis().stream().map(NodeSnapshot.Eni::id).toList());
        for (NodeSnapshot.NatGateway nat : snapshot.natGateways()) {
            firstVersionWithNatGateway.putIfAbsent(nat.id(), version);
        }
        firstVersionWithNatGateway.keySet().retainAll(snapshot.natGateways().stream().map(NodeSnapshot.NatGateway::id).toList());
        current = next;
        for (Subscriber s : subscribers) {
            tell(s, next);
        }
        for (AwaitNext w : waiters) {
            w.answer().complete(next);
        }
        waiters.clear();
        if (next.delta() == null) {
            LOG.info("node config version {} published ({} ENIs, {} execution environments)", version, snapshot.enis().size(),
                    snapshot.executionEnvironments().size());
        } else {
            LOG.debug("node config version {} published ({} execution environments)", version, snapshot.executionEnvironments().size());
        }
        if (previous == null || !previous.snapshot().enis().equals(snapshot.enis())) {
            enisChanged.run();
        }
        return next;
    }

    /** One subscriber's failure is its own: the others, and the loop, go on. */
    private static void tell(Subscriber subscriber, Published version) {
        try {
            subscriber.publish(version);
        } catch (RuntimeException e) {
            LOG.warn("node config subscriber {} failed on version {}: {}", subscriber, version.version(), e.getMessage(), e);
        }
    }

    private static boolean sameContent(NodeSnapshot a, NodeSnapshot b) {
        return a.eeGateway().equals(b.eeGateway()) && a.vpcs().equals(b.vpcs()) && a.subnets().equals(b.subnets())
                && a.securityGroups().equals(b.securityGroups()) && a.networkAcls().equals(b.networkAcls())
                && a.routeTables().equals(b.routeTables()) && a.enis().equals(b.enis())
                && a.executionEnvironments().equals(b.executionEnvironments()) && a.natGateways().equals(b.natGateways());
    }

    /**
     * Versions come from the store in blocks (hi/lo): they keep growing across restarts (a restart
     * skips the rest of its block) without a store write per publish.
     */
    private long nextVersion() {
        if (nextVersion >= versionLimit) {
            long start = source.takeVersions(VERSION_BLOCK);
            nextVersion = start;
            versionLimit = start + VERSION_BLOCK;
        }
        return nextVersion++;
    }

    /** The loop's last act: every answer it owes, given; every command still queued, refused. */
    private void ended() {
        IllegalStateException closing = new IllegalStateException("node config publisher: closed");
        if (reading != null) {
            reading.answers.forEach(f -> f.completeExceptionally(closing));
        }
        wantRead.forEach(f -> f.completeExceptionally(closing));
        wantRead.clear();
        waiters.forEach(w -> w.answer().complete(null));
        waiters.clear();
        subscribers.clear();
        for (Command c = commands.poll(); c != null; c = commands.poll()) {
            refuse(c, "closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        commands.offer(WAKE); // a full queue is fine: the loop checks the flag after every command
        try {
            loop.join(CLOSE_WAIT.toMillis());
            reader.shutdown();
            if (!reader.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("node config publisher: a store read still runs after {} s", CLOSE_WAIT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
