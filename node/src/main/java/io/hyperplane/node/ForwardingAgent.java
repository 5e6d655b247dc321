package io.hyperplane.node;

import com.sun.management.ThreadMXBean;
import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.dataplane.flow.FleetPeers;
import io.hyperplane.linux.underlay.LivenessProbe;
import io.hyperplane.node.io.BatchedUdpSocket;
import io.hyperplane.node.io.FleetMessage;
import io.hyperplane.node.io.SteeringProgram;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.VxlanHeader;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A forwarding thread's duty cycle, in the manner of an Agrona agent:
 * <pre>
 *   receive one batch (recvmmsg, MSG_WAITFORONE: blocks when idle, batches when busy)
 *   read the clock once; swap in a new config (and fleet plan) if one was handed over; timer work (bounded)
 *   [several threads] process the ARP answers thread 0 handed over
 *   decide every datagram in place -> queue (zero copy) -> one sendmmsg for the batch
 *     [several threads, thread 0] copy each ARP answer to every other thread's ring first,
 *     then queue one wake-up datagram per thread that got one
 *   every publish interval: copy counters to the counters file
 * </pre>
 * One batch per wakeup: looping until the socket is empty measured worse (prototype notes).
 * Other threads talk to it only through {@link #offer(LoadedConfig)} and {@link #stop()}, and read
 * what it publishes: the config it has switched to ({@link #applied()}), NAT ports per ENI
 * ({@link #eniPorts()}) and NAT gateways' metrics ({@link #natGateways()}).
 * <p>With several threads each agent owns one socket of the node's SO_REUSEPORT group, and the
 * kernel's steering program gives it both directions of its flows (docs/architecture.md). Thread
 * 0 also gets what cannot be steered (ARP, anything not IPv4); every thread resolves its own next
 * hops, so the answers, which reach thread 0, are copied to the others through a
 * {@link HandOffRing} each and a wake-up datagram the program steers to that thread.
 * <p>In a fleet ({@link NodeFleet}) the thread that receives ARP (the only one, or thread 0)
 * also relays every ARP reply from outside the fleet to the other members: a node's request is
 * answered to the fleet's anycast address, and ECMP may give the answer to another node. The copy
 * goes to the member's VXLAN port, marked in the VXLAN header's reserved fields (ignored on
 * receipt, RFC 7348 §5) with a relay flag and the original outer source, which the member puts
 * back (the forwarder checks a VPC frame's outer source against its subnet's VTEP). A member
 * trusts the mark only from another member's address, and never relays a relayed frame again.
 * The same mark carries a packet a member passes on to this node because this node owns its flow
 * (docs/fleet.md, "Redirect"): any thread may get one, and puts the original outer source back.
 */
final class ForwardingAgent implements Runnable {
    /** Where a VXLAN datagram holds the inner ethertype and, for ARP, the operation. */
    private static final int ETHER_TYPE = FrameDecoder.ETHERNET_OFFSET + 12;
    private static final int ARP_OPERATION = FrameDecoder.L3_OFFSET + 6;
    private static final short ETHER_TYPE_ARP = (short) EthernetHeader.TYPE_ARP;
    /**
     * ARP replies one batch can relay before the relay copies are sent (each copy waits in the
     * batch's send queue until the flush): a batch rarely holds more than a few ARP frames.
     */
    private static final int RELAY_SLOTS = 64;
    /** An ARP frame in VXLAN is 68 bytes (60-byte minimum Ethernet frame); 128 leaves room for padding. */
    static final int RELAY_SLOT_SIZE = 128;

    private final int thread;
    private final BatchedUdpSocket socket;
    private final Forwarder forwarder;
    private final Steering steering;
    private final CountersFile countersFile;
    private final long publishIntervalNanos;
    private final AtomicReference<LoadedConfig> handover = new AtomicReference<>();
    private final AtomicReference<NodeFleet> fleetHandover = new AtomicReference<>();
    /** The fleet this thread acts on; written by it only. */
    private NodeFleet fleet = NodeFleet.ALONE;
    private final ByteBuffer relays = ByteBuffer.allocateDirect(RELAY_SLOTS * RELAY_SLOT_SIZE);
    private int relaysQueued;
    /** Copying every flow to a new backup, a share per cycle. */
    private boolean resyncing;
    /** The outbox sequence a finished resync walk reached: once the backup acknowledges it, it holds every flow. -1: none pending. */
    private long syncedThrough = -1;
    /**
     * The backup this thread has copied every flow of its own to, acknowledged: its address (high
     * 32 bits; 0: none, or still copying) and its process's incarnation (low 32); read by the heartbeat.
     */
    private volatile long synced;
    private long arpRelayed;
    private long arpRelayedIn;
    private long redirectedIn;
    private final PublishedEniPorts publishedEniPorts;
    private final PublishedNatGateways publishedNatGateways = new PublishedNatGateways(CountersFile.NAT_GATEWAY_SLOTS);
    private final Runnable wakeUp;
    /** The forwarder's way out: a new flow's first packet may wait there for its copy on the backup. */
    private final Forwarder.PacketSink sink = this::forward;
    private final ReplicationChannel replication;
    /**
     * The node process's incarnation in its probe answers (its low 16 bits, every thread's the
     * same): a sender that found the node down and hears it again takes it back at once if it is
     * the same process (it only went quiet, its flows intact), but not a restarted one, which must
     * resynchronise first.
     */
    private final int probeIncarnation;
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
    private volatile long probesAnswered; // written by this thread alone
    private long handedOff;
    private long handedIn;
    private long handOffsRefused;

    /**
     * How a thread of several talks to the others: its own ring (null on thread 0), and on thread
     * 0 every other thread's ring (index = thread, 0 unused) with the wake-up datagram that reaches
     * each, sent to {@code wakeIp:wakePort} (0: no wake-ups; the receive timeout bounds the wait).
     */
    record Steering(HandOffRing inbox, HandOffRing[] outboxes, ByteBuffer[] wakes, int wakeIp, int wakePort) {
        /** Thread 0 when {@code outboxes} has more than one ring. */
        boolean handsOff() {
            return outboxes.length > 1;
        }
    }

    /**
     * Thread {@code thread} of several ({@code steering} non-null), or the only one (null), each
     * with its own socket and forwarder. {@code initial} (null: none, the node drops everything
     * until one is offered) is installed now, before the thread starts; {@code wakeUp} makes this
     * thread's receive return; {@code incarnation} is this node process's run
     * ({@link ReplicationChannel#newIncarnation()}), the same on every thread.
     */
    ForwardingAgent(int thread, Steering steering, BatchedUdpSocket socket, Forwarder forwarder, CountersFile countersFile,
                    long publishIntervalNanos, LoadedConfig initial, Runnable wakeUp, int incarnation) {
        this.thread = thread;
        this.steering = steering;
        this.wakeUp = wakeUp;
        this.socket = socket;
        this.forwarder = forwarder;
        this.countersFile = countersFile;
        this.publishIntervalNanos = publishIntervalNanos;
        this.publishedEniPorts = new PublishedEniPorts(forwarder.settings().maxEnis());
        this.replication = new ReplicationChannel(thread, forwarder, this::send, socket.slotSize(), incarnation);
        this.probeIncarnation = ReplicationChannel.probeIncarnation(incarnation);
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

    /** Hands a new fleet plan's part for this node to the forwarding thread; it applies it before its next batch. */
    void offer(NodeFleet next) {
        fleetHandover.set(next);
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

    /**
     * The underlay address of the backup holding a copy of every flow of this thread's (high 32
     * bits, 0 while none does) and the incarnation of that backup's process (low 32), read together.
     */
    long synced() {
        return synced;
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
        replication.cycle(now);
        LoadedConfig next = handover.getAndSet(null);
        if (next != null) {
            forwarder.config(next.compiled());
            applied = next;
        }
        NodeFleet nextFleet = fleetHandover.getAndSet(null);
        if (nextFleet != null) {
            fleet = nextFleet;
            forwarder.ownPortBlocks(nextFleet.ownedBlocks());
            forwarder.peers(nextFleet.peerCount() == 0 ? FleetPeers.NONE : replication);
            boolean newBackup = replication.fleet(nextFleet, socket.localPort());
            resyncing |= newBackup;
            if (newBackup || nextFleet.backupIp() == 0) {
                synced = 0;
                syncedThrough = -1;
            }
            if (resyncing) {
                forwarder.startResync();
            }
        }
        relaysQueued = 0;
        forwarder.tick((int) ((now - originNanos) / 1_000_000_000L), sink);
        if (steering != null) {
            decideSteered(received, steering);
        } else {
            decide(received);
        }
        if (replication.takeBackupRestarted()) {
            // The backup answered as another process: the copies it acknowledged died with the one before.
            synced = 0;
            syncedThrough = -1;
            resyncing = true;
            forwarder.startResync();
        }
        if (resyncing) {
            resyncing = !forwarder.resync(replication.resyncBudget()); // a new backup gets every flow, a bounded share per cycle
            if (!resyncing) {
                syncedThrough = replication.head();
            }
        }
        if (syncedThrough >= 0 && replication.acknowledged(syncedThrough) && replication.backupIncarnation() != 0) {
            synced = (long) fleet.backupIp() << 32 | replication.backupIncarnation() & 0xffffffffL;
            syncedThrough = -1;
        }
        replication.endCycle();
        socket.flush();
        replication.flushed();
        if (now >= nextPublishNanos) {
            publish();
            nextPublishNanos = now + publishIntervalNanos;
        }
        return received;
    }

    /** The only thread's batch: every datagram is its own. */
    private void decide(int received) {
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
            int at = i * slot;
            int length = socket.length(i);
            if (LivenessProbe.isProbe(rx, at, length)) {
                answerProbe(rx, at, length, i);
                continue;
            }
            if (FleetMessage.is(rx, at, length)) {
                replication.receive(rx, at, length, socket.sourceIp(i)); // a stranger's is counted there, out of order
                continue;
            }
            forwarder.process(rx, at, length, acrossFleet(rx, at, length, socket.sourceIp(i)), sink);
        }
    }

    /** One batch of one thread of several: hand-offs first, then the batch (thread 0 copying ARP answers out). */
    private void decideSteered(int received, Steering steering) {
        HandOffRing inbox = steering.inbox();
        if (inbox != null) {
            for (int h = inbox.peek(); h >= 0; h = inbox.peek()) {
                forwarder.process(inbox.storage(), inbox.offset(h), inbox.length(h), inbox.sourceIp(h), sink);
                inbox.release();
                handedIn++;
            }
        }
        ByteBuffer rx = socket.receiveBuffer();
        int slot = socket.slotSize();
        boolean handsOff = steering.handsOff();
        long handedBefore = handedOff;
        for (int i = 0; i < received; i++) {
            if (socket.truncated(i)) {
                ioTruncated++;
                continue;
            }
            int at = i * slot;
            int length = socket.length(i);
            if (length == 0 || SteeringProgram.isWake(rx, at, length)) {
                continue; // a wake-up (or the node's check, at start, that it can reach itself): nothing to forward
            }
            if (LivenessProbe.isProbe(rx, at, length)) {
                answerProbe(rx, at, length, i); // whichever thread the steering picked: probes carry no flow
                continue;
            }
            if (FleetMessage.is(rx, at, length)) {
                replication.receive(rx, at, length, socket.sourceIp(i)); // a stranger's is counted there, out of order
                continue;
            }
            int source = acrossFleet(rx, at, length, socket.sourceIp(i)); // ARP only ever reaches thread 0
            if (handsOff && isArpReply(rx, at, length)) {
                handOff(rx, at, length, source, steering.outboxes());
            }
            forwarder.process(rx, at, length, source, sink);
        }
        if (handedOff != handedBefore && steering.wakeIp() != 0) {
            HandOffRing[] outboxes = steering.outboxes();
            for (int t = 1; t < outboxes.length; t++) {
                ByteBuffer wake = steering.wakes()[t];
                send(wake, 0, wake.capacity(), steering.wakeIp(), steering.wakePort());
            }
        }
    }

    /**
     * An ARP reply (the answer to some thread's request: only the thread that asked holds packets
     * for it, but any may need the next hop later). Requests are not handed off: thread 0 answers
     * them, and a second thread would answer again.
     */
    private static boolean isArpReply(ByteBuffer rx, int at, int length) {
        return length >= ARP_OPERATION + 2 && rx.getShort(at + ETHER_TYPE) == ETHER_TYPE_ARP
                && rx.getShort(at + ARP_OPERATION) == ArpPacket.REPLY;
    }

    /** The forwarder's sink: a new flow's first packet waits for its copy's acknowledgement when the channel holds it. */
    private void forward(ByteBuffer buffer, int offset, int length, int destinationIp, int destinationPort) {
        if (forwarder.sendingFirstPacket() && replication.hold(buffer, offset, length, destinationIp, destinationPort)) {
            return;
        }
        send(buffer, offset, length, destinationIp, destinationPort);
    }

    /**
     * A frame in a fleet, before it is decided (answering an ARP request rewrites it in place): a
     * frame another member passed on (an ARP answer it relays, or a packet of a flow this node
     * owns, {@link VxlanHeader#RELAY_FLAG}) gets its original outer source back; an ARP reply from
     * outside the fleet is relayed to every other member. Returns the outer source to decide the frame with.
     */
    private int acrossFleet(ByteBuffer rx, int at, int length, int source) {
        NodeFleet f = fleet;
        if (f.peerCount() == 0 || length < VxlanHeader.LENGTH) {
            return source;
        }
        boolean arp = length >= ARP_OPERATION + 2 && rx.getShort(at + ETHER_TYPE) == ETHER_TYPE_ARP;
        if (f.isPeer(source)) {
            if (!VxlanHeader.isRelayed(rx, at)) {
                return source;
            }
            if (arp) {
                arpRelayedIn++;
            } else {
                redirectedIn++;
            }
            return VxlanHeader.relayedSource(rx, at);
        }
        if (arp && rx.getShort(at + ARP_OPERATION) == ArpPacket.REPLY && length <= RELAY_SLOT_SIZE) {
            relay(rx, at, length, source, f);
        }
        return source;
    }

    private void relay(ByteBuffer rx, int at, int length, int source, NodeFleet f) {
        if (relaysQueued == RELAY_SLOTS) {
            flushNow(); // the queued copies are sent: their slots can be reused
            relaysQueued = 0;
        }
        int slotAt = relaysQueued++ * RELAY_SLOT_SIZE;
        for (int b = 0; b < length; b++) {
            relays.put(slotAt + b, rx.get(at + b));
        }
        VxlanHeader.markRelayed(relays, slotAt, source);
        for (int p = 0; p < f.peerCount(); p++) {
            send(relays, slotAt, length, f.peer(p), socket.localPort());
            arpRelayed++;
        }
    }

    private void flushNow() {
        try {
            socket.flush();
        } catch (IOException e) {
            throw new IllegalStateException("forwarding socket failed: " + e.getMessage(), e);
        }
    }

    /** Copied before thread 0 decides it: answering rewrites a frame in place. */
    private void handOff(ByteBuffer rx, int at, int length, int source, HandOffRing[] outboxes) {
        for (int t = 1; t < outboxes.length; t++) {
            if (outboxes[t].offer(rx, at, length, source)) {
                handedOff++;
            } else {
                handOffsRefused++;
            }
        }
    }

    /**
     * A sender's liveness probe (its first byte has VXLAN's I flag clear, so it is never a frame):
     * answered in place, back to where it came from, before the forwarder sees it.
     */
    private void answerProbe(ByteBuffer rx, int at, int length, int i) {
        LivenessProbe.answerInPlace(rx, at, probeIncarnation);
        send(rx, at, length, socket.sourceIp(i), socket.sourcePort(i));
        probesAnswered++;
    }

    /** Liveness probes this thread answered; read by another thread, so only ever approximately current. */
    long probesAnswered() {
        return probesAnswered;
    }

    private void send(ByteBuffer buffer, int offset, int length, int destinationIp, int destinationPort) {
        if (!socket.queue(buffer, offset, length, destinationIp, destinationPort)) {
            flushNow(); // more output than one batch (ARP traffic on top): send what we have
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
        c.set(Counter.HANDED_OFF, handedOff);
        c.set(Counter.HANDED_IN, handedIn);
        c.set(Counter.DROP_HAND_OFF_FULL, handOffsRefused);
        c.set(Counter.ARP_RELAYED, arpRelayed);
        c.set(Counter.ARP_RELAYED_IN, arpRelayedIn);
        c.set(Counter.REDIRECTED_IN, redirectedIn);
        replication.publish(c);
        if (steering == null) {
            countersFile.publish(c, forwarder.flowCounts(), forwarder.natGatewayCounters(), System.currentTimeMillis());
        } // else the node's totals are summed by ForwardingThreads, off the forwarding threads
        countersFile.publishThread(thread, c);
        publishedEniPorts.publish(forwarder.flowCounts());
        publishedNatGateways.publish(forwarder.natGatewayCounters());
    }
}
