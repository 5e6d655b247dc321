package io.hyperplane.node;

import com.sun.management.ThreadMXBean;
import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.node.io.BatchedUdpSocket;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The forwarding thread's duty cycle, in the manner of an Agrona agent:
 * <pre>
 *   receive one batch (recvmmsg, MSG_WAITFORONE: blocks when idle, batches when busy)
 *   read the clock once; swap in a new config if one was handed over; timer work (bounded)
 *   decide every datagram in place -> queue (zero copy) -> one sendmmsg for the batch
 *   every publish interval: copy counters to the counters file
 * </pre>
 * One batch per wakeup: looping until the socket is empty measured worse (prototype notes).
 * Other threads talk to it only through {@link #offer(LoadedConfig)} and {@link #stop()}, and read
 * what it publishes: the config it has switched to ({@link #applied()}), NAT ports per ENI
 * ({@link #eniPorts()}) and NAT gateways' metrics ({@link #natGateways()}).
 */
final class ForwardingAgent implements Runnable {
    private final BatchedUdpSocket socket;
    private final Forwarder forwarder;
    private final CountersFile countersFile;
    private final long publishIntervalNanos;
    private final AtomicReference<LoadedConfig> handover = new AtomicReference<>();
    private final PublishedEniPorts publishedEniPorts;
    private final PublishedNatGateways publishedNatGateways = new PublishedNatGateways(CountersFile.NAT_GATEWAY_SLOTS);
    private final Runnable wakeUp;
    private final Forwarder.PacketSink sink = this::send;
    private final ThreadMXBean threads =
            (ThreadMXBean) ManagementFactory.getThreadMXBean();
    private final long originNanos = System.nanoTime();
    private volatile boolean running = true;
    /** The config the forwarding thread switched to; written by it only. */
    private volatile LoadedConfig applied;
    private volatile long offeredVersion = -1;
    private volatile long rejectedConfigs;
    private volatile long socketOverflows;
    private long nextPublishNanos;
    private long ioTruncated;

    /**
     * {@code initial} (null: none, the node drops everything until one is offered) is installed
     * now, before the thread starts. {@code wakeUp} makes the forwarding thread's receive return
     * (an empty datagram to its socket).
     */
    ForwardingAgent(BatchedUdpSocket socket, Forwarder forwarder, CountersFile countersFile, long publishIntervalNanos,
                    LoadedConfig initial, Runnable wakeUp) {
        this.wakeUp = wakeUp;
        this.socket = socket;
        this.forwarder = forwarder;
        this.countersFile = countersFile;
        this.publishIntervalNanos = publishIntervalNanos;
        this.publishedEniPorts = new PublishedEniPorts(forwarder.settings().maxEnis());
        if (initial != null) {
            forwarder.config(initial.compiled());
            applied = initial;
            offeredVersion = initial.version();
        }
    }

    /** Hands a new configuration to the forwarding thread; it applies it before its next batch. */
    void offer(LoadedConfig config) {
        handover.set(config);
        offeredVersion = config.version();
        wakeUp.run();
    }

    /**
     * The version of the config last handed over (or installed at start), -1 before any: what the
     * node acknowledges and reports. The forwarding thread takes a handed-over config after every
     * receive and before deciding any datagram of it, so a packet sent after this is reported
     * already meets it.
     */
    long acknowledgedVersion() {
        return offeredVersion;
    }

    /** The config the forwarding thread is running on, not merely offered; null before any. */
    LoadedConfig applied() {
        return applied;
    }

    /** The version of {@link #applied()}, -1 before any. */
    long appliedVersion() {
        LoadedConfig a = applied;
        return a == null ? -1 : a.version();
    }

    /** NAT ports per ENI as of the last publish interval. */
    PublishedEniPorts eniPorts() {
        return publishedEniPorts;
    }

    /** NAT gateways' metrics as of the last publish interval. */
    PublishedNatGateways natGateways() {
        return publishedNatGateways;
    }

    void configRejected() {
        rejectedConfigs++;
    }

    /** Datagrams the kernel dropped at this node's full receive buffer, as sampled by another thread. */
    void socketOverflows(long drops) {
        socketOverflows = drops;
    }

    void stop() {
        running = false;
    }

    @Override
    public void run() {
        forwarder.startClock(0);
        try {
            while (running) {
                doWork();
            }
        } catch (IOException e) {
            throw new IllegalStateException("forwarding socket failed: " + e.getMessage(), e);
        } finally {
            publish();
        }
    }

    /**
     * One duty cycle; returns the datagrams received. A method of its own, not the body of
     * {@link #run}'s loop: the JIT compiles it whole with the socket calls inlined, which is what
     * lets escape analysis remove the FFM call-state objects (an OSR-compiled loop kept ~40 bytes
     * per batch).
     */
    int doWork() throws IOException {
        int received = socket.receive();
        long now = System.nanoTime();
        LoadedConfig next = handover.getAndSet(null);
        if (next != null) {
            forwarder.config(next.compiled());
            applied = next;
        }
        forwarder.tick((int) ((now - originNanos) / 1_000_000_000L), sink);
        ByteBuffer rx = socket.receiveBuffer();
        int slot = socket.slotSize();
        for (int i = 0; i < received; i++) {
            if (socket.truncated(i)) {
                ioTruncated++; // larger than a slot: a GSO super-packet or a jumbo frame
                continue;
            }
            if (socket.length(i) == 0) {
                continue; // a wake-up (no VXLAN datagram is empty): the thread is awake, there is nothing to forward
            }
            forwarder.process(rx, i * slot, socket.length(i), socket.sourceIp(i), sink);
        }
        socket.flush();
        if (now >= nextPublishNanos) {
            publish();
            nextPublishNanos = now + publishIntervalNanos;
        }
        return received;
    }

    private void send(ByteBuffer buffer, int offset, int length, int destinationIp, int destinationPort) {
        if (!socket.queue(buffer, offset, length, destinationIp, destinationPort)) {
            try {
                socket.flush(); // more output than one batch (ARP traffic on top): send what we have
            } catch (IOException e) {
                throw new IllegalStateException("forwarding socket failed: " + e.getMessage(), e);
            }
            socket.queue(buffer, offset, length, destinationIp, destinationPort);
        }
    }

    private void publish() {
        Counters c = forwarder.counters();
        c.set(Counter.DROP_IO_TRUNCATED, ioTruncated);
        c.set(Counter.DROP_IO_SEND, socket.sendErrors() + socket.queueOverflows());
        c.set(Counter.CONFIG_REJECTED, rejectedConfigs);
        c.set(Counter.GSO_SEGMENTS, socket.coalesced());
        c.set(Counter.DROP_SOCKET_OVERFLOW, socketOverflows);
        c.set(Counter.ALLOCATED_BYTES_FORWARDING_THREAD, threads.getCurrentThreadAllocatedBytes());
        countersFile.publish(c, forwarder.flowCounts(), forwarder.natGatewayCounters(), System.currentTimeMillis());
        publishedEniPorts.publish(forwarder.flowCounts());
        publishedNatGateways.publish(forwarder.natGatewayCounters());
    }
}
