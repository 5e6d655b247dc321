package io.hyperplane.node;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.node.io.BatchedUdpSocket;
import io.hyperplane.node.io.SteeringProgram;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.packet.Ipv4Address;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A running forwarder node: the UDP sockets, the forwarding threads (one per socket, see
 * {@link NodeSettings#threads}), the source of their config and the counters file. The config comes from one of two places:
 * <ul>
 *   <li>a file ({@link NodeSettings#configFile()}), watched by a {@link ConfigWatcher}; the node
 *       refuses to start without a valid one;</li>
 *   <li>the control plane ({@link NodeSettings#controlUrl()}), through a {@link ControlPlaneClient}.
 *       The node starts at once on its cached snapshot, or with none (dropping everything as
 *       unknown VNIs) until the control plane answers: a node must come up while its control
 *       plane is down.</li>
 * </ul>
 * {@link #start} returns once the node forwards; {@link #close} stops it cleanly (the forwarding
 * threads notice within one receive timeout) and releases everything.
 */
public final class ForwarderNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ForwarderNode.class);
    /**
     * ARP answers one thread can have waiting from thread 0: a burst of resolutions after a
     * config change is a few dozen next hops; a refused one is asked again within a second.
     */
    private static final int HAND_OFF_SLOTS = 256;
    /** An ARP frame in VXLAN is 68 bytes (60-byte minimum Ethernet frame); 128 leaves room for padding. */
    private static final int HAND_OFF_SLOT_SIZE = 128;

    private final NodeSettings settings;
    private final BoundSockets sockets;
    private final CountersFile counters;
    private final ForwardingThreads forwarding;
    /** Null with a config file. */
    private final ConfigWatcher watcher;
    private final Thread watcherThread;
    /** Null with a config file. */
    private final ControlPlaneClient control;
    private final List<Thread> forwardingThreads = new ArrayList<>();
    /** Sums the threads' counters into the node's totals; null with one thread, which writes them itself. */
    private final Thread totalsThread;
    private final CountDownLatch stopped;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Throwable failure;
    private final Object fleetLock = new Object();
    private long fleetVersion = -1;

    private ForwarderNode(NodeSettings settings) throws IOException {
        this.settings = settings.validate();
        LoadedConfig initial;
        SnapshotCache cache = null;
        if (settings.controlUrl() == null) {
            this.watcher = new ConfigWatcher(settings.configFile(), settings.configPoll().toMillis(), this::offer, this::rejected,
                    this::sampleKernelDrops);
            try {
                initial = watcher.loadInitial();
            } catch (IOException | IllegalArgumentException e) {
                throw new IOException("config " + settings.configFile() + ": " + e.getMessage(), e);
            }
        } else {
            this.watcher = null;
            createStateDir(settings.stateDir());
            cache = new SnapshotCache(settings.stateDir());
            initial = cache.load();
            if (initial != null) {
                LOG.info("config version {} loaded from {} ({} ENIs, {} execution environments); asking {} for newer",
                        initial.version(), cache.file(), initial.snapshot().enis().size(),
                        initial.snapshot().executionEnvironments().size(), settings.controlUrl());
            }
        }
        int threads = settings.threads();
        CountersFile countersFile = CountersFile.create(settings.countersFile(), settings.name(), threads);
        BoundSockets bound = null;
        try {
            bound = openSockets(settings);
            BoundSockets opened = bound;
            List<ForwardingAgent> agents = new ArrayList<>(threads);
            int incarnation = ReplicationChannel.newIncarnation();
            if (threads == 1) {
                agents.add(new ForwardingAgent(0, null, bound.sockets()[0], new Forwarder(settings.forwarder()), countersFile,
                        settings.publishInterval().toNanos(), initial, () -> opened.wake(0), incarnation));
            } else {
                HandOffRing[] rings = new HandOffRing[threads];
                for (int t = 1; t < threads; t++) {
                    rings[t] = new HandOffRing(HAND_OFF_SLOTS, HAND_OFF_SLOT_SIZE);
                }
                Forwarder.Settings share = settings.forwarder().perThread(threads);
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    ForwardingAgent.Steering steering = t == 0
                            ? new ForwardingAgent.Steering(null, rings, bound.wakes(), bound.wakeIp(), bound.port())
                            : new ForwardingAgent.Steering(rings[t], new HandOffRing[0], bound.wakes(), bound.wakeIp(), bound.port());
                    agents.add(new ForwardingAgent(t, steering, bound.sockets()[t], new Forwarder(share, threads), countersFile,
                            settings.publishInterval().toNanos(), initial, () -> opened.wake(thread), incarnation));
                }
            }
            this.forwarding = new ForwardingThreads(agents, countersFile, incarnation);
            this.control = settings.controlUrl() == null ? null
                    : new ControlPlaneClient(settings, bound.port(), forwarding, cache, this::sampleKernelDrops, this::fleet);
        } catch (IOException | RuntimeException e) {
            if (bound != null) {
                bound.close();
            }
            try {
                countersFile.close();
            } catch (IOException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        this.counters = countersFile;
        this.sockets = bound;
        this.stopped = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            ForwardingAgent agent = forwarding.agent(t);
            String name = threads == 1 ? "hp-forwarder-" + settings.name() : "hp-forwarder-" + settings.name() + "-" + t;
            forwardingThreads.add(Thread.ofPlatform().name(name).unstarted(() -> runAgent(agent)));
        }
        this.totalsThread = threads == 1 ? null
                : Thread.ofPlatform().name("hp-counters-" + settings.name()).daemon().unstarted(this::publishTotals);
        this.watcherThread = watcher == null ? null
                : Thread.ofPlatform().name("hp-config-" + settings.name()).daemon().unstarted(watcher);
    }

    public static ForwarderNode start(NodeSettings settings) throws IOException {
        ForwarderNode node = new ForwarderNode(settings);
        node.forwardingThreads.forEach(Thread::start);
        if (node.totalsThread != null) {
            node.totalsThread.start();
        }
        if (node.watcherThread != null) {
            node.watcherThread.start();
        }
        if (node.control != null) {
            node.control.start();
        }
        LOG.info("node {} listening on {}:{}{}, config version {}{}", settings.name(), Ipv4Address.format(settings.listenIp()),
                node.localPort(), settings.netns() == null ? "" : " in netns " + settings.netns(), node.configVersion(),
                settings.threads() == 1 ? "" : ", " + settings.threads() + " forwarding threads");
        if (node.control != null && node.configVersion() < 0) {
            LOG.info("node {} has no config yet: waiting for the control plane at {}, dropping all traffic until it answers",
                    settings.name(), settings.controlUrl());
        }
        return node;
    }

    private static void createStateDir(Path dir) throws IOException {
        try {
            PrivateFiles.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("state dir " + dir + ": cannot create it (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + "); give another with --state-dir DIR", e);
        }
    }

    /**
     * The forwarding sockets (one, or a SO_REUSEPORT group with the steering program, one per
     * thread, in thread order), the kernel's drop counters of their namespace, and a small socket
     * in the same namespace that wakes a forwarding thread when a new config is handed over, so an
     * idle node switches at once rather than at its next receive timeout: an environment's
     * registration waits for that switch. One thread is woken by an empty datagram; thread
     * {@code t} of several by the datagram the program steers to it ({@link SteeringProgram#wakeDatagram}),
     * which thread 0 also sends, from its own socket, to {@link #wakeIp} after handing a thread
     * ARP answers (0 when the node cannot reach itself: then nobody sends any).
     */
    private record BoundSockets(BatchedUdpSocket[] sockets, KernelUdpDrops drops, DatagramChannel waker,
                                InetSocketAddress target, ByteBuffer[] wakes, int wakeIp) implements AutoCloseable {
        int port() {
            return sockets[0].localPort();
        }

        void wake(int thread) {
            if (waker == null) {
                return;
            }
            try {
                // Unconnected send: the JDK sends an empty datagram this way (not through write() or DatagramSocket).
                waker.send(sockets.length == 1 ? EMPTY.duplicate() : wakes[thread].duplicate(), target);
            } catch (IOException e) {
                LOG.debug("wake-up datagram not sent: {}", e.getMessage()); // the receive timeout wakes it anyway
            }
        }

        @Override
        public void close() {
            for (BatchedUdpSocket socket : sockets) {
                socket.close();
            }
            drops.close();
            if (waker != null) {
                try {
                    waker.close();
                } catch (IOException e) {
                    LOG.debug("closing the wake-up socket: {}", e.getMessage());
                }
            }
        }
    }

    /** The wake-up datagram's (empty) payload. */
    private static final ByteBuffer EMPTY = ByteBuffer.allocateDirect(0);

    /** Binds the sockets, inside {@link NodeSettings#netns()} when one is given; the JVM itself stays where it is. */
    private static BoundSockets openSockets(NodeSettings settings) throws IOException {
        NetworkNamespace.Action<BoundSockets> open = () -> {
            int threads = settings.threads();
            BatchedUdpSocket[] sockets = threads == 1
                    ? new BatchedUdpSocket[] {BatchedUdpSocket.open(settings.listenIp(), settings.listenPort(), settings.batchSize(),
                            settings.slotSize(), settings.socketBufferBytes(), (int) settings.receiveTimeout().toMillis())}
                    : BatchedUdpSocket.openGroup(settings.listenIp(), settings.listenPort(), SteeringProgram.forThreads(threads),
                            settings.batchSize(), settings.slotSize(), settings.socketBufferBytes(),
                            (int) settings.receiveTimeout().toMillis());
            String ip = settings.listenIp() == 0 ? "127.0.0.1" : Ipv4Address.format(settings.listenIp());
            InetSocketAddress target = new InetSocketAddress(ip, sockets[0].localPort());
            DatagramChannel waker = DatagramChannel.open();
            try {
                waker.configureBlocking(false);
                waker.send(EMPTY.duplicate(), target); // reachable? (loopback may be down in a bare namespace)
            } catch (IOException e) {
                LOG.info("no wake-up socket ({}): config switches wait up to the receive timeout", e.getMessage());
                waker.close();
                waker = null;
            }
            ByteBuffer[] wakes = new ByteBuffer[threads];
            for (int t = 0; t < threads && threads > 1; t++) {
                wakes[t] = SteeringProgram.wakeDatagram(t, threads);
            }
            return new BoundSockets(sockets, KernelUdpDrops.open(), waker, target, wakes, waker == null ? 0 : Ipv4Address.parse(ip));
        };
        return settings.netns() == null ? open.run() : NetworkNamespace.call(settings.netns(), open);
    }

    private void runAgent(ForwardingAgent agent) {
        try {
            agent.run();
        } catch (Throwable t) {
            failure = t;
            LOG.error("forwarding thread stopped: {}", t.getMessage(), t);
            forwarding.stop(); // a node missing a thread would drop that thread's share of every flow: stop whole
        } finally {
            stopped.countDown();
        }
    }

    /** Every publish interval, until the forwarding threads stop. */
    private void publishTotals() {
        long interval = settings.publishInterval().toNanos();
        while (stopped.getCount() > 0) {
            forwarding.publishTotals();
            LockSupport.parkNanos(this, interval);
        }
    }

    private void offer(LoadedConfig config) {
        forwarding.offer(config);
    }

    /**
     * Acts on the fleet's plan from now on: NAT ports from this node's blocks, ARP answers relayed
     * to the other members (docs/fleet.md). The node is the member at its underlay address
     * ({@link NodeSettings#underlayIp()}); a plan without it leaves the node on its own. A plan
     * older than the last one is ignored.
     */
    public void fleet(FleetPlan plan) {
        synchronized (fleetLock) {
            if (plan.version() < fleetVersion) {
                return;
            }
            fleetVersion = plan.version();
            forwarding.offer(NodeFleet.of(plan, settings.underlayIp()));
        }
    }

    private void rejected() {
        forwarding.configRejected();
    }

    private void sampleKernelDrops() {
        forwarding.socketOverflows(Math.max(0, sockets.drops().sinceStart()));
    }

    public int localPort() {
        return sockets.port();
    }

    /**
     * The backup every forwarding thread has copied all its flows to, every copy acknowledged, as a
     * dotted address; empty while copying or without one (the heartbeat's {@code syncedTo}).
     */
    public String syncedTo() {
        return forwarding.synced().backup();
    }

    /** {@link #syncedTo()} with the incarnation of that backup's process, read together. */
    ForwardingThreads.Synced synced() {
        return forwarding.synced();
    }

    /** This process's incarnation (hex), which its fleet channel's acknowledgements and its heartbeats carry. */
    public String incarnation() {
        return forwarding.incarnation();
    }

    /** Senders' liveness probes answered on the forwarding sockets, over every thread. */
    public long probesAnswered() {
        long answered = 0;
        for (int t = 0; t < forwarding.size(); t++) {
            answered += forwarding.agent(t).probesAnswered();
        }
        return answered;
    }

    /** The config version every forwarding thread runs on; -1 while one has none (waiting for the control plane). */
    public long configVersion() {
        return forwarding.appliedVersion();
    }

    public NodeSettings settings() {
        return settings;
    }

    /** Blocks until the forwarding threads stop (after {@link #close} or a fatal socket error). */
    public void awaitStop() throws InterruptedException {
        stopped.await();
        if (failure != null) {
            throw new IllegalStateException("node " + settings.name() + " failed: " + failure.getMessage(), failure);
        }
    }

    /** Leaves the control plane first (so that it stops tunnelling here), then stops forwarding. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (control != null) {
            control.close();
        }
        if (watcher != null) {
            watcher.stop();
            watcherThread.interrupt();
        }
        forwarding.stop();
        try {
            if (!stopped.await(5, TimeUnit.SECONDS)) {
                LOG.warn("forwarding threads did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (totalsThread != null) {
            totalsThread.interrupt();
            try {
                totalsThread.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            forwarding.publishTotals(); // the threads' last figures
        }
        sockets.close();
        try {
            counters.close();
        } catch (IOException e) {
            LOG.warn("closing counters file: {}", e.getMessage());
        }
    }
}
