package io.hyperplane.node;

import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.node.io.BatchedUdpSocket;
import io.hyperplane.packet.Ipv4Address;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A running forwarder node: the UDP socket, the forwarding thread, the config watcher and the
 * counters file. {@link #start} returns once the node forwards; {@link #close} stops it cleanly
 * (the forwarding thread notices within one receive timeout) and releases everything.
 */
public final class ForwarderNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ForwarderNode.class);

    private final NodeSettings settings;
    private final BatchedUdpSocket socket;
    private final CountersFile counters;
    private final ForwardingAgent agent;
    private final ConfigWatcher watcher;
    private final Thread forwardingThread;
    private final Thread watcherThread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final KernelUdpDrops kernelDrops = new KernelUdpDrops();
    private volatile Throwable failure;

    private ForwarderNode(NodeSettings settings) throws IOException {
        this.settings = settings.validate();
        Forwarder forwarder = new Forwarder(settings.forwarder());
        this.watcher = new ConfigWatcher(settings.configFile(), settings.configPoll().toMillis(), this::offer, this::rejected,
                this::sampleKernelDrops);
        CompiledConfig initial;
        try {
            initial = watcher.loadInitial();
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("config " + settings.configFile() + ": " + e.getMessage(), e);
        }
        forwarder.config(initial);
        this.counters = CountersFile.create(settings.countersFile(), settings.name());
        this.socket = BatchedUdpSocket.open(settings.listenIp(), settings.listenPort(), settings.batchSize(),
                settings.slotSize(), settings.socketBufferBytes(), (int) settings.receiveTimeout().toMillis());
        this.agent = new ForwardingAgent(socket, forwarder, counters, settings.publishInterval().toNanos());
        this.forwardingThread = Thread.ofPlatform().name("hp-forwarder-" + settings.name()).unstarted(this::runAgent);
        this.watcherThread = Thread.ofPlatform().name("hp-config-" + settings.name()).daemon().unstarted(watcher);
    }

    public static ForwarderNode start(NodeSettings settings) throws IOException {
        ForwarderNode node = new ForwarderNode(settings);
        node.forwardingThread.start();
        node.watcherThread.start();
        LOG.info("node {} listening on {}:{}, config version {}", settings.name(),
                Ipv4Address.format(settings.listenIp()), node.socket.localPort(), node.watcher.lastVersion());
        return node;
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

    private void offer(CompiledConfig config) {
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

    public long configVersion() {
        return watcher.lastVersion();
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

    @Override
    public void close() {
        watcher.stop();
        watcherThread.interrupt();
        agent.stop();
        try {
            if (!stopped.await(5, TimeUnit.SECONDS)) {
                LOG.warn("forwarding thread did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        socket.close();
        try {
            counters.close();
        } catch (IOException e) {
            LOG.warn("closing counters file: {}", e.getMessage());
        }
    }
}
