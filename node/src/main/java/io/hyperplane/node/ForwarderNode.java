package io.hyperplane.node;

import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.node.io.BatchedUdpSocket;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A running forwarder node: the UDP socket, the forwarding thread, the source of its config and
 * the counters file. The config comes from one of two places:
 * <ul>
 *   <li>a file ({@link NodeSettings#configFile()}), watched by a {@link ConfigWatcher}; the node
 *       refuses to start without a valid one;</li>
 *   <li>the control plane ({@link NodeSettings#controlUrl()}), through a {@link ControlPlaneClient}.
 *       The node starts at once on its cached snapshot, or with none (dropping everything as
 *       unknown VNIs) until the control plane answers: a node must come up while its control
 *       plane is down.</li>
 * </ul>
 * {@link #start} returns once the node forwards; {@link #close} stops it cleanly (the forwarding
 * thread notices within one receive timeout) and releases everything.
 */
public final class ForwarderNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ForwarderNode.class);

    private final NodeSettings settings;
    private final BatchedUdpSocket socket;
    private final KernelUdpDrops kernelDrops;
    private final CountersFile counters;
    private final ForwardingAgent agent;
    /** Null with a control plane. */
    private final ConfigWatcher watcher;
    private final Thread watcherThread;
    /** Null with a config file. */
    private final ControlPlaneClient control;
    private final Thread forwardingThread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Throwable failure;

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
        Forwarder forwarder = new Forwarder(settings.forwarder());
        CountersFile countersFile = CountersFile.create(settings.countersFile(), settings.name());
        BoundSocket bound = null;
        try {
            bound = openSocket(settings);
            BoundSocket sockets = bound;
            this.agent = new ForwardingAgent(bound.socket(), forwarder, countersFile, settings.publishInterval().toNanos(),
                    initial, sockets::wake);
            this.control = settings.controlUrl() == null ? null
                    : new ControlPlaneClient(settings, bound.socket().localPort(), agent, cache, this::sampleKernelDrops);
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
        this.socket = bound.socket();
        this.kernelDrops = bound.drops();
        this.forwardingThread = Thread.ofPlatform().name("hp-forwarder-" + settings.name()).unstarted(this::runAgent);
        this.watcherThread = watcher == null ? null
                : Thread.ofPlatform().name("hp-config-" + settings.name()).daemon().unstarted(watcher);
    }

    public static ForwarderNode start(NodeSettings settings) throws IOException {
        ForwarderNode node = new ForwarderNode(settings);
        node.forwardingThread.start();
        if (node.watcherThread != null) {
            node.watcherThread.start();
        }
        if (node.control != null) {
            node.control.start();
        }
        LOG.info("node {} listening on {}:{}{}, config version {}", settings.name(), Ipv4Address.format(settings.listenIp()),
                node.socket.localPort(), settings.netns() == null ? "" : " in netns " + settings.netns(), node.configVersion());
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

    /** The node's socket and the kernel's drop counters of the namespace it lives in. */
    /**
     * The forwarding socket, the kernel's drop counters of its namespace, and a small socket in the
     * same namespace that wakes the forwarding thread (an empty datagram to the forwarding socket)
     * when a new config is handed over, so an idle node switches at once rather than at its next
     * receive timeout: an environment's registration waits for that switch.
     */
    private record BoundSocket(BatchedUdpSocket socket, KernelUdpDrops drops, DatagramChannel waker,
                               InetSocketAddress target) implements AutoCloseable {
        void wake() {
            if (waker == null) {
                return;
            }
            try {
                // Unconnected send: the JDK sends an empty datagram this way (not through write() or DatagramSocket).
                waker.send(EMPTY.duplicate(), target);
            } catch (IOException e) {
                LOG.debug("wake-up datagram not sent: {}", e.getMessage()); // the receive timeout wakes it anyway
            }
        }

        @Override
        public void close() {
            socket.close();
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

    /** Binds the socket, inside {@link NodeSettings#netns()} when one is given; the JVM itself stays where it is. */
    private static BoundSocket openSocket(NodeSettings settings) throws IOException {
        NetworkNamespace.Action<BoundSocket> open = () -> {
            BatchedUdpSocket socket = BatchedUdpSocket.open(settings.listenIp(), settings.listenPort(), settings.batchSize(),
                    settings.slotSize(), settings.socketBufferBytes(), (int) settings.receiveTimeout().toMillis());
            String ip = settings.listenIp() == 0 ? "127.0.0.1" : Ipv4Address.format(settings.listenIp());
            InetSocketAddress target = new InetSocketAddress(ip, socket.localPort());
            DatagramChannel waker = DatagramChannel.open();
            try {
                waker.configureBlocking(false);
                waker.send(EMPTY.duplicate(), target); // reachable? (loopback may be down in a bare namespace)
            } catch (IOException e) {
                LOG.info("no wake-up socket ({}): config switches wait up to the receive timeout", e.getMessage());
                waker.close();
                waker = null;
            }
            return new BoundSocket(socket, KernelUdpDrops.open(), waker, target);
        };
        return settings.netns() == null ? open.run() : NetworkNamespace.call(settings.netns(), open);
    }

    private void runAgent() {
        try {
            agent.run();
        } catch (Throwable t) {
            failure = t;
            LOG.error("forwarding thread stopped: {}", t.getMessage(), t);
        } finally {
            stopped.countDown();
        }
    }

    private void offer(LoadedConfig config) {
        agent.offer(config);
    }

    private void rejected() {
        agent.configRejected();
    }

    private void sampleKernelDrops() {
        agent.socketOverflows(Math.max(0, kernelDrops.sinceStart()));
    }

    public int localPort() {
        return socket.localPort();
    }

    /** The config version the forwarding thread runs on; -1 while it has none (waiting for the control plane). */
    public long configVersion() {
        return agent.appliedVersion();
    }

    public NodeSettings settings() {
        return settings;
    }

    /** Blocks until the forwarding thread stops (after {@link #close} or a fatal socket error). */
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
        agent.stop();
        try {
            if (!stopped.await(5, TimeUnit.SECONDS)) {
                LOG.warn("forwarding thread did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        socket.close();
        kernelDrops.close();
        try {
            counters.close();
        } catch (IOException e) {
            LOG.warn("closing counters file: {}", e.getMessage());
        }
    }
}
