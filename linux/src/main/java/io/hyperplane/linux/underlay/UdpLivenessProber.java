package io.hyperplane.linux.underlay;

import io.hyperplane.linux.netns.NetworkNamespace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fast liveness of underlay addresses: every {@link Settings#interval()} one {@link LivenessProbe}
 * to each target, and a transition reported to the {@link Listener} when a target answers while
 * unknown or down ({@code up}) or has left {@link Settings#misses()} intervals in a row unanswered
 * ({@code down}), whether it was up before or had never answered. Each probe has one interval to
 * be answered, so with the defaults (50 ms, 3) a target that dies is reported 150–200 ms later
 * (measured: p50 175 ms, p99 202 ms, FailoverTimes), well inside the fleet's 1 s budget
 * (DESIGN.md §10), for 20 datagrams a second per target.
 * <pre>
 *   tick (every interval)                      answer (any time)
 *   ─────────────────────                      ─────────────────
 *   for each target:                           target := by the probe's target id
 *     answered since last tick? missed := 0    answered := true, missed := 0
 *     else missed += 1                         not up? → up, listener.up
 *     not down and missed == misses → down, listener.down
 *     send probe(target id, sequence, now)
 * </pre>
 * One platform thread does all of it, with one socket opened inside the namespace given (so the
 * probes take that namespace's routes) and a {@link Selector} to wait between ticks. The listener
 * runs on that thread: it may run a short command (one {@code ip nexthop replace} is about 8 ms),
 * which delays the next tick by as much. Per probe nothing is logged and nothing allocated but the
 * source address the JDK returns for each answer; one log line per transition.
 * <p>Targets can change at any time ({@link #targets}); the thread takes the new set at its next
 * tick. A new target is {@link Verdict#UNKNOWN} until its first answer or its {@code misses}-th
 * unanswered interval. Ids are never reused, so a late answer to a removed target is ignored.
 */
public final class UdpLivenessProber implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UdpLivenessProber.class);
    private static final int RECEIVE_BYTES = 256;
    private static final long NANOS_PER_MILLI = 1_000_000;

    /** What the prober knows of a target. */
    public enum Verdict {
        /** Not (yet) a target, or probed for fewer than {@code misses} intervals without an answer. */
        UNKNOWN,
        UP,
        DOWN
    }

    /** What the prober tells: called on its thread, one call per transition. */
    public interface Listener {
        /** {@code incarnation}: the answering process's ({@link LivenessProbe#incarnation}); a new one after a down means it restarted. */
        void up(InetSocketAddress target, int incarnation);

        /** {@code silent}: since the target's last answer. */
        void down(InetSocketAddress target, Duration silent);
    }

    /**
     * How often to probe and how many intervals in a row may go unanswered before a target is down.
     * The defaults are the research's measured prototype (issue 17 §3): 144 ms from a kill to the
     * route change.
     */
    public record Settings(Duration interval, int misses) {
        public static final Duration DEFAULT_INTERVAL = Duration.ofMillis(50);
        /** One lost datagram must not take a node out: three in a row is BFD's usual detect multiplier (RFC 5880 §6.8.1). */
        public static final int DEFAULT_MISSES = 3;
        /** Below this the probes cost more than they tell; a millisecond is also the selector's resolution. */
        static final Duration MIN_INTERVAL = Duration.ofMillis(5);
        public static final Settings DEFAULTS = new Settings(DEFAULT_INTERVAL, DEFAULT_MISSES);

        public Settings {
            if (interval == null || interval.compareTo(MIN_INTERVAL) < 0) {
                throw new IllegalArgumentException("interval " + interval + ": must be at least " + MIN_INTERVAL.toMillis() + " ms");
            }
            if (misses < 1) {
                throw new IllegalArgumentException("misses " + misses + ": must be at least 1");
            }
        }
    }

    /** One address being probed; touched only by the prober's thread. */
    private static final class Target {
        final InetSocketAddress address;
        final int id;
        int sequence;
        boolean answered;
        int missed;
        Verdict verdict = Verdict.UNKNOWN;
        long lastAnswerNanos;
        int incarnation;

        Target(InetSocketAddress address, int id, long now) {
            this.address = address;
            this.id = id;
            this.lastAnswerNanos = now;
        }
    }

    private final String namespace;
    private final Settings settings;
    private final Listener listener;
    private final DatagramChannel channel;
    private final Selector selector;
    private final Thread thread;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(RECEIVE_BYTES);
    private final List<Target> targets = new ArrayList<>();
    private final Map<InetSocketAddress, Verdict> verdicts = new ConcurrentHashMap<>();
    private volatile Set<InetSocketAddress> wanted = Set.of();
    private volatile boolean closing;
    private int nextId = 1;

    private UdpLivenessProber(String namespace, Settings settings, Listener listener, DatagramChannel channel, Selector selector) {
        this.namespace = namespace;
        this.settings = settings;
        this.listener = listener;
        this.channel = channel;
        this.selector = selector;
        this.thread = Thread.ofPlatform().daemon().name("hp-prober-" + namespace).unstarted(this::run);
    }

    /**
     * Opens a UDP socket on {@code local} (port 0: any) inside {@code namespace} and starts probing;
     * no targets until {@link #targets} names some.
     */
    public static UdpLivenessProber start(String namespace, InetSocketAddress local, Settings settings, Listener listener)
            throws IOException {
        DatagramChannel channel = NetworkNamespace.call(namespace, () -> {
            DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET);
            try {
                c.bind(local);
                c.configureBlocking(false);
                return c;
            } catch (IOException e) {
                c.close();
                throw new IOException("prober " + local + ": " + e.getMessage(), e);
            }
        });
        Selector selector;
        try {
            selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        UdpLivenessProber prober = new UdpLivenessProber(namespace, settings, listener, channel, selector);
        prober.thread.start();
        return prober;
    }

    /** Replaces the set of addresses probed; taken at the next tick. A target kept keeps its state. */
    public void targets(Collection<InetSocketAddress> next) {
        wanted = Set.copyOf(next);
    }

    public Verdict verdict(InetSocketAddress target) {
        return verdicts.getOrDefault(target, Verdict.UNKNOWN);
    }

    public boolean isUp(InetSocketAddress target) {
        return verdict(target) == Verdict.UP;
    }

    private void run() {
        long intervalNanos = settings.interval().toNanos();
        long nextTick = System.nanoTime();
        try {
            while (!closing) {
                long now = System.nanoTime();
                long wait = nextTick - now;
                if (wait > 0) {
                    selector.select(Math.max(1, (wait + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI));
                    selector.selectedKeys().clear();
                    receiveAnswers();
                    continue;
                }
                applyTargets(now);
                tick(now);
                nextTick += intervalNanos;
                if (nextTick - now <= 0) {
                    nextTick = now + intervalNanos; // a slow listener ran past a tick: skip, do not burst
                }
            }
        } catch (IOException e) {
            if (!closing) {
                LOG.error("prober in {} stopped: {}", namespace, e.getMessage());
            }
        }
    }

    private void applyTargets(long now) {
        Set<InetSocketAddress> next = wanted;
        if (targets.size() == next.size() && targets.stream().allMatch(t -> next.contains(t.address))) {
            return;
        }
        targets.removeIf(t -> {
            if (next.contains(t.address)) {
                return false;
            }
            verdicts.remove(t.address);
            return true;
        });
        Set<InetSocketAddress> known = new LinkedHashSet<>();
        targets.forEach(t -> known.add(t.address));
        for (InetSocketAddress address : next) {
            if (!known.contains(address)) {
                targets.add(new Target(address, nextId++, now));
            }
        }
    }

    private void tick(long now) {
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            if (t.answered) {
                t.answered = false;
            } else if (t.missed < settings.misses()) {
                t.missed++;
                if (t.missed == settings.misses()) {
                    Duration silent = Duration.ofNanos(now - t.lastAnswerNanos);
                    LOG.info("underlay {} from {}: down, {} probes unanswered{}", t.address, namespace, settings.misses(),
                            t.verdict == Verdict.UP ? ", silent for " + silent.toMillis() + " ms" : " since it became a target");
                    t.verdict = Verdict.DOWN;
                    verdicts.put(t.address, Verdict.DOWN);
                    tell(t, false, silent);
                }
            }
            send(t, now);
        }
    }

    private void send(Target t, long now) {
        buffer.clear();
        LivenessProbe.writeProbe(buffer, 0, t.id, t.sequence++, now);
        buffer.limit(LivenessProbe.LENGTH);
        try {
            channel.send(buffer, t.address);
        } catch (IOException e) {
            // No route to it right now: that is a miss like any other, counted at the next tick.
        }
    }

    private void receiveAnswers() throws IOException {
        while (true) {
            buffer.clear();
            SocketAddress from = channel.receive(buffer);
            if (from == null) {
                return;
            }
            buffer.flip();
            if (LivenessProbe.isAnswer(buffer, 0, buffer.remaining())) {
                answered(LivenessProbe.target(buffer, 0), LivenessProbe.incarnation(buffer, 0));
            }
        }
    }

    private void answered(int id, int incarnation) {
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            if (t.id == id) {
                t.answered = true;
                t.missed = 0;
                t.lastAnswerNanos = System.nanoTime();
                if (t.verdict != Verdict.UP) {
                    t.verdict = Verdict.UP;
                    verdicts.put(t.address, Verdict.UP);
                    LOG.info("underlay {} from {}: up", t.address, namespace);
                    t.incarnation = incarnation;
                    tell(t, true, Duration.ZERO);
                }
                return;
            }
        }
    }

    private void tell(Target t, boolean up, Duration silent) {
        try {
            if (up) {
                listener.up(t.address, t.incarnation);
            } else {
                listener.down(t.address, silent);
            }
        } catch (RuntimeException e) {
            // The prober outlives a listener's failure; the next transition is told all the same.
            LOG.error("underlay {} from {}: listener failed on {}: {}", t.address, namespace, up ? "up" : "down", e.toString());
        }
    }

    /** Stops probing and closes the socket; no listener call starts after this returns. */
    @Override
    public void close() throws IOException {
        closing = true;
        selector.wakeup();
        try {
            if (Thread.currentThread() != thread) { // a listener may close its prober
                thread.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            selector.close();
            channel.close();
        }
    }
}
