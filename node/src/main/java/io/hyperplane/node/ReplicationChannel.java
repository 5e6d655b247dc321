package io.hyperplane.node;

import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.dataplane.flow.FleetPeers;
import io.hyperplane.dataplane.flow.FlowReplication;
import io.hyperplane.dataplane.flow.FlowTable;
import io.hyperplane.node.io.FleetMessage;
import io.hyperplane.packet.VxlanHeader;

import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One forwarding thread's end of the fleet channel (docs/fleet.md, "Replication"): it copies the
 * thread's own flows to the node's backup, holds each new flow's first packet until the backup
 * has its copy, and keeps the copies of the flows of the members this node backs up.
 * <pre>
 *   forwarder --copy/forget--> outbox (ring of records, sequence-numbered) --end of cycle--> backup
 *   forwarder --first packet--> held (FIFO, by the flow record's sequence) --ack >= seq--> sent
 *   member's records --> applied to the forwarder's table as replicas --> cumulative ack back
 * </pre>
 * Sending is go-back-N: the backup acknowledges cumulatively and drops a datagram past a gap;
 * when nothing is acknowledged for the resend timeout, everything unacknowledged is sent again.
 * The timeout is twice the smoothed round trip of acknowledgements, from {@link #RESEND_NANOS} to
 * {@link #MAX_RESEND_NANOS}, doubled by each resend until an acknowledgement times a record sent
 * once (RFC 6298's backoff and Karn's rule): on 2 busy vCPUs acknowledgements took tens of
 * milliseconds, and a fixed 20 ms sent most records several times (40,129 resends for 3,144
 * records in one kill test).
 * Every acknowledgement carries the acknowledging process's incarnation: a backup that restarted
 * in place (same address, its copies gone) answers as another, and the sender starts a new
 * stream and copies it every flow again, as for a new backup. A channel with nothing to send
 * says so every {@link #KEEPALIVE_NANOS} (an empty records datagram), so such a restart is
 * noticed even when no flow changes.
 * Every {@link #HELLO_NANOS} the thread says hello to every other member's same thread, and it
 * notes when it last heard from each member (any datagram of the channel): a packet of a flow
 * that another member owns and keeps is passed on to it ({@link #redirect}) only while that
 * member is in service and heard within {@link #HEARD_NANOS}, less than the senders take to find
 * a node dead, so a packet that reached this node because its owner died is never sent to it.
 * A backup that stays silent for {@link #SILENT_NANOS} is taken for dead: first packets then
 * leave at once (counted {@code replication-unprotected}) rather than wait, since the tenant's
 * traffic matters more than its copy, and each resend asks it with the oldest datagram only,
 * until it acknowledges again or the plan names another.
 * Everything is preallocated; the thread that owns the forwarder is the only one calling in.
 */
final class ReplicationChannel implements FlowReplication, FleetPeers {
    /**
     * Records awaiting acknowledgement per thread: a second's worth of new flows at the node's
     * measured ~30,000 connections/s, at 36 bytes each (2.4 MB).
     */
    static final int OUTBOX_RECORDS = 1 << 16;
    /** First packets waiting for their copy's acknowledgement: a round trip's worth of new flows (~1 ms at 30,000/s is 30). */
    static final int HELD_PACKETS = 256;
    /** Datagrams one duty cycle sends on the channel (records and acknowledgements); the rest wait for the next cycle. */
    static final int TX_DATAGRAMS = 64;
    /** No acknowledgement for this long: send every unacknowledged record again. An underlay round trip is well under 1 ms. */
    static final long RESEND_NANOS = 20_000_000L;
    /** The longest resend timeout: half of {@link #SILENT_NANOS}, so a slow backup is asked again before it is taken for dead. */
    static final long MAX_RESEND_NANOS = 50_000_000L;
    /**
     * No acknowledgement for this long with records outstanding: the backup is taken for dead and
     * first packets stop waiting. Below the senders' 150 ms failure detection, so a first packet is
     * never held longer than a dead node would have cost anyway.
     */
    static final long SILENT_NANOS = 100_000_000L;
    /** With nothing to send for this long, an empty records datagram: its acknowledgement tells whether the backup restarted. */
    static final long KEEPALIVE_NANOS = 100_000_000L;
    /** How often a thread says hello to every other member. */
    static final long HELLO_NANOS = 30_000_000L;
    /**
     * A member heard from within this long counts as alive for a redirect: two and a half hellos'
     * worth, and well below the senders' failure detection (three missed 50 ms probes, at least
     * about 100 ms after a death), after which a dead member's packets start to arrive here; the
     * margin covers a thread that notes a hello late.
     */
    static final long HEARD_NANOS = 75_000_000L;
    /**
     * Table ids a resync walks per duty cycle: a million-flow table in 250 cycles, each a few
     * microseconds of reading the state column.
     */
    static final int RESYNC_SLOTS_PER_CYCLE = 4096;
    /** Half the outbox stays free for new flows while a resync fills the rest. */
    private static final int RESYNC_RESERVE = OUTBOX_RECORDS / 2;
    /** Members (indexes 1..16) times the threads a member may run, for the receive state. */
    private static final int MAX_MEMBERS = 17;
    static final int MAX_THREADS = 256;

    private final int thread;
    private final Forwarder forwarder;
    private final Forwarder.PacketSink out;
    private final int heldSlotSize;
    /** This node process's run, in every acknowledgement this channel sends; never 0. */
    private final int incarnation;
    /** The backup's incarnation as its acknowledgements give it; 0 before the first. */
    private int backupIncarnation;
    private boolean backupRestarted;
    private long lastSentNanos;
    private long restarts;
    /** Per member index: when a datagram of the channel from it was last received; valid where {@link #heard} is set. */
    private final long[] heardAt = new long[MAX_MEMBERS];
    private final boolean[] heard = new boolean[MAX_MEMBERS];
    private long helloSentNanos;
    private boolean helloSent;
    private NodeFleet fleet = NodeFleet.ALONE;
    private int port;

    // The outbox: sequence s lives at slot s & (OUTBOX_RECORDS - 1).
    private final ByteBuffer outbox = ByteBuffer.allocateDirect(OUTBOX_RECORDS * FleetMessage.RECORD_SIZE);
    private final long[] appendedAt = new long[OUTBOX_RECORDS];
    private int epoch;
    private long head;
    private long acked;
    private long sentTo;
    /** Records below this sequence went out at least once: sending one again is a resend. */
    private long sentBefore;
    private long progressNanos;
    /** Smoothed round trip of acknowledgements (RFC 6298's SRTT, gain 1/8), 0 before the first sample. */
    private long smoothedRttNanos;
    private long resendTimeoutNanos = RESEND_NANOS;
    /** When the last go-back-N happened: a record appended before it may have been sent twice, so its ack times nothing (Karn). */
    private long lastResendNanos = Long.MIN_VALUE;
    private boolean silent;
    /** The sequence of the record the last copy() wrote, -1 when it wrote none. */
    private long lastCopied = -1;

    // Held first packets, a FIFO by sequence: [heldHead, heldTail) held; [reusableFrom, heldHead) sent but maybe not flushed yet.
    private final ByteBuffer held;
    private final long[] heldSequence = new long[HELD_PACKETS];
    private final long[] heldAt = new long[HELD_PACKETS];
    private final int[] heldIp = new int[HELD_PACKETS];
    private final int[] heldPort = new int[HELD_PACKETS];
    private final int[] heldLength = new int[HELD_PACKETS];
    private long heldHead;
    private long heldTail;
    private long reusableFrom;

    private final ByteBuffer tx = ByteBuffer.allocateDirect(TX_DATAGRAMS * FleetMessage.MAX_SIZE);
    private int txUsed;

    // Receiving: per (member index, its thread), the stream's epoch and the next sequence expected.
    private final int[] streamEpoch = new int[MAX_MEMBERS * MAX_THREADS];
    private final long[] expected = new long[MAX_MEMBERS * MAX_THREADS];
    private final boolean[] streamKnown = new boolean[MAX_MEMBERS * MAX_THREADS];

    private long nowNanos;
    private long sent;
    private long received;
    private long acknowledged;
    private long resent;
    private long bytes;
    private long unprotected;
    private long heldCount;
    private long outOfOrder;

    /**
     * The channel of forwarding thread {@code thread}, whose packets and channel datagrams go out
     * through {@code out}; a first packet up to {@code slotSize} bytes can be held.
     */
    ReplicationChannel(int thread, Forwarder forwarder, Forwarder.PacketSink out, int slotSize, int incarnation) {
        if (incarnation == 0) {
            throw new IllegalArgumentException("incarnation 0 is reserved for none");
        }
        this.incarnation = incarnation;
        this.thread = thread;
        this.forwarder = forwarder;
        this.out = out;
        this.heldSlotSize = slotSize;
        this.held = ByteBuffer.allocateDirect(HELD_PACKETS * slotSize);
        this.epoch = ThreadLocalRandom.current().nextInt();
    }

    /**
     * Acts on a new plan; {@code vxlanPort} is where members listen. A new backup gets a new
     * stream (a new epoch, the outbox emptied, held packets sent at once); returns true then, when
     * the caller must copy every flow to it again ({@link Forwarder#startResync}).
     */
    boolean fleet(NodeFleet next, int vxlanPort) {
        port = vxlanPort;
        boolean newBackup = next.backupIp() != fleet.backupIp();
        fleet = next;
        forwarder.replication(next.backupIp() == 0 ? FlowReplication.OFF : this);
        if (newBackup) {
            newStream();
            backupIncarnation = 0;
            backupRestarted = false;
        }
        return newBackup && next.backupIp() != 0;
    }

    /** A stream to a backup that holds nothing of this one's yet: a new epoch, the outbox emptied, held packets sent at once. */
    private void newStream() {
        releaseHeld(Long.MAX_VALUE, false);
        epoch++;
        head = 0;
        acked = 0;
        sentTo = 0;
        sentBefore = 0;
        lastCopied = -1;
        silent = false;
        progressNanos = nowNanos;
    }

    /**
     * A new random incarnation for a node process: its low 16 bits, which its liveness probe
     * answers carry ({@link #probeIncarnation}), are never 0 (a probe's own value), so neither is it.
     */
    static int newIncarnation() {
        int value;
        do {
            value = ThreadLocalRandom.current().nextInt();
        } while (probeIncarnation(value) == 0);
        return value;
    }

    /** The part of a node's incarnation its liveness probe answers carry (LivenessProbe's 16 bits). */
    static int probeIncarnation(int incarnation) {
        return incarnation & 0xffff;
    }

    /** An incarnation as heartbeats carry it: 8 hex digits. */
    static String formatIncarnation(int incarnation) {
        return String.format("%08x", incarnation);
    }

    /** The backup's process as its acknowledgements gave it; 0 before the first. */
    int backupIncarnation() {
        return backupIncarnation;
    }

    /**
     * Whether the backup restarted since last asked (it acknowledged as another process): the
     * stream has started again, and the caller must copy it every flow again ({@link Forwarder#startResync}).
     */
    boolean takeBackupRestarted() {
        boolean restarted = backupRestarted;
        backupRestarted = false;
        return restarted;
    }

    /** The sequence the next record gets: everything below it is written. */
    long head() {
        return head;
    }

    /** Whether the backup has acknowledged every record below {@code sequence}. */
    boolean acknowledged(long sequence) {
        return acked >= sequence;
    }

    /** How many table ids a resync may walk this cycle: as many as the outbox can take beyond its reserve (each id at most one record). */
    int resyncBudget() {
        long room = OUTBOX_RECORDS - (head - acked) - RESYNC_RESERVE;
        return (int) Math.max(0, Math.min(RESYNC_SLOTS_PER_CYCLE, room));
    }

    /** The start of a duty cycle: the time its timers read. */
    void cycle(long now) {
        nowNanos = now;
    }

    @Override
    public void copy(FlowTable flows, int f, int now) {
        append(FleetMessage.OP_COPY, flows, f, Math.max(0, flows.expiresAt(f) - now));
    }

    @Override
    public void forget(FlowTable flows, int f) {
        append(FleetMessage.OP_FORGET, flows, f, 0);
    }

    private void append(int op, FlowTable flows, int f, int expiresIn) {
        if (head - acked == OUTBOX_RECORDS) {
            lastCopied = -1;
            unprotected++; // the backup will lack this change until the flow's next one
            return;
        }
        int at = (int) (head & (OUTBOX_RECORDS - 1)) * FleetMessage.RECORD_SIZE;
        ByteBuffer b = outbox;
        b.put(at + FleetMessage.R_OP, (byte) op);
        b.put(at + FleetMessage.R_PROTOCOL, (byte) flows.protocol(f));
        b.put(at + FleetMessage.R_STATE, flows.state(f));
        b.put(at + 3, (byte) 0);
        b.putInt(at + FleetMessage.R_VNI, flows.vni(f));
        b.putInt(at + FleetMessage.R_SOURCE_IP, flows.sourceIp(f));
        b.putShort(at + FleetMessage.R_SOURCE_PORT, (short) flows.eePort(f));
        b.putShort(at + FleetMessage.R_REMOTE_PORT, (short) flows.remotePort(f));
        b.putInt(at + FleetMessage.R_REMOTE_IP, flows.remoteIp(f));
        b.putInt(at + FleetMessage.R_ENI_VNI, flows.eniVni(f));
        b.putInt(at + FleetMessage.R_ENI_IP, flows.eniIp(f));
        b.putShort(at + FleetMessage.R_NAT_PORT, (short) flows.natPort(f));
        b.putShort(at + FleetMessage.R_NAT_PORT + 2, (short) 0);
        b.putInt(at + FleetMessage.R_EXPIRES_IN, expiresIn);
        if (head == acked) {
            progressNanos = nowNanos; // the resend and silence clocks start with the first outstanding record
        }
        appendedAt[(int) (head & (OUTBOX_RECORDS - 1))] = nowNanos;
        lastCopied = head++;
    }

    /**
     * Called for a new flow's first packet instead of sending it: true when it is held until the
     * backup has the flow's copy (the record last written: the flow's, or a later one when the
     * packet waited for ARP, which is acknowledged only after the flow's); false when it must go now (no backup:
     * nothing to wait for; a silent backup, a full queue, a copy not written: counted unprotected).
     */
    boolean hold(ByteBuffer buffer, int offset, int length, int ip, int destinationPort) {
        if (fleet.backupIp() == 0 || lastCopied >= 0 && lastCopied < acked) {
            return false; // nothing to wait for, or the copy is acknowledged already
        }
        if (silent || lastCopied < 0 || length > heldSlotSize || heldTail - reusableFrom == HELD_PACKETS) {
            unprotected++;
            return false;
        }
        int slot = (int) (heldTail % HELD_PACKETS);
        held.put(slot * heldSlotSize, buffer, offset, length);
        heldSequence[slot] = lastCopied;
        heldAt[slot] = nowNanos;
        heldIp[slot] = ip;
        heldPort[slot] = destinationPort;
        heldLength[slot] = length;
        heldTail++;
        heldCount++;
        return true;
    }

    /** Sends the held packets whose records are below {@code upTo}; {@code unprotected}: they went without. */
    private void releaseHeld(long upTo, boolean countUnprotected) {
        while (heldHead < heldTail) {
            int slot = (int) (heldHead % HELD_PACKETS);
            if (heldSequence[slot] >= upTo) {
                return;
            }
            out.send(held, slot * heldSlotSize, heldLength[slot], heldIp[slot], heldPort[slot]);
            if (countUnprotected) {
                unprotected++;
            }
            heldHead++;
        }
    }

    /** A fleet datagram received from {@code source}; anything not from a member, or malformed, is ignored. */
    void receive(ByteBuffer rx, int at, int length, int source) {
        if (!FleetMessage.isValid(rx, at, length) || !fleet.isPeer(source)) {
            outOfOrder++;
            return;
        }
        int from = FleetMessage.sender(rx, at);
        if (from >= 1 && from < MAX_MEMBERS) {
            heardAt[from] = nowNanos;
            heard[from] = true;
        }
        int type = FleetMessage.type(rx, at);
        if (type == FleetMessage.HELLO) {
            return;
        }
        int streamThread = FleetMessage.thread(rx, at);
        if (type == FleetMessage.ACK) {
            acknowledgement(rx, at, source, streamThread);
            return;
        }
        int sender = FleetMessage.sender(rx, at);
        if (sender < 1 || sender >= MAX_MEMBERS || streamThread >= MAX_THREADS) {
            outOfOrder++;
            return;
        }
        int stream = sender * MAX_THREADS + streamThread;
        int streamEpochNow = FleetMessage.epoch(rx, at);
        long first = FleetMessage.sequence(rx, at);
        if (!streamKnown[stream] || streamEpoch[stream] != streamEpochNow) {
            // A stream new to this node (a sender's new backup, or this node restarted): it starts at the oldest
            // record the sender still holds; what is older was acknowledged to an earlier incarnation.
            streamKnown[stream] = true;
            streamEpoch[stream] = streamEpochNow;
            expected[stream] = Math.max(0, FleetMessage.floor(rx, at));
        }
        int count = FleetMessage.count(rx, at);
        if (first > expected[stream]) {
            outOfOrder++; // a gap: wait for the resend of what is missing
        } else {
            for (int i = (int) (expected[stream] - first); i < count; i++) {
                apply(rx, at + FleetMessage.HEADER_SIZE + i * FleetMessage.RECORD_SIZE, sender);
            }
            expected[stream] = Math.max(expected[stream], first + count);
        }
        int ack = txSlot();
        if (ack < 0) {
            return; // the sender resends, and this is acknowledged then
        }
        FleetMessage.header(tx, ack, FleetMessage.ACK, 0, streamThread, fleet.selfIndex(), streamEpochNow, expected[stream],
                incarnation & 0xffffffffL);
        send(ack, FleetMessage.HEADER_SIZE, source);
    }

    private void apply(ByteBuffer b, int r, int owner) {
        received++;
        int vni = b.getInt(r + FleetMessage.R_VNI);
        int protocol = b.get(r + FleetMessage.R_PROTOCOL) & 0xff;
        int sourceIp = b.getInt(r + FleetMessage.R_SOURCE_IP);
        int sourcePort = b.getShort(r + FleetMessage.R_SOURCE_PORT) & 0xffff;
        int remoteIp = b.getInt(r + FleetMessage.R_REMOTE_IP);
        int remotePort = b.getShort(r + FleetMessage.R_REMOTE_PORT) & 0xffff;
        if (b.get(r + FleetMessage.R_OP) == FleetMessage.OP_FORGET) {
            forwarder.replicaForget(vni, protocol, sourceIp, sourcePort, remoteIp, remotePort);
            return;
        }
        forwarder.replicaCopy(owner, vni, protocol, sourceIp, sourcePort, remoteIp, remotePort, b.getInt(r + FleetMessage.R_ENI_VNI),
                b.getInt(r + FleetMessage.R_ENI_IP), b.getShort(r + FleetMessage.R_NAT_PORT) & 0xffff, b.get(r + FleetMessage.R_STATE),
                b.getInt(r + FleetMessage.R_EXPIRES_IN));
    }

    private void acknowledgement(ByteBuffer rx, int at, int source, int streamThread) {
        if (source != fleet.backupIp() || streamThread != thread || FleetMessage.epoch(rx, at) != epoch) {
            return; // for an earlier backup or stream
        }
        int from = (int) FleetMessage.floor(rx, at);
        if (from != backupIncarnation) {
            boolean restarted = backupIncarnation != 0;
            backupIncarnation = from;
            if (restarted) {
                restarts++;
                newStream();
                backupRestarted = true;
                return;
            }
        }
        long upTo = Math.min(FleetMessage.sequence(rx, at), head);
        silent = false;
        if (upTo <= acked) {
            return;
        }
        acknowledged += upTo - acked;
        long newest = appendedAt[(int) ((upTo - 1) & (OUTBOX_RECORDS - 1))];
        if (newest > lastResendNanos) {
            long sample = nowNanos - newest;
            smoothedRttNanos = smoothedRttNanos == 0 ? sample : smoothedRttNanos + ((sample - smoothedRttNanos) >> 3);
            resendTimeoutNanos = Math.clamp(2 * smoothedRttNanos, RESEND_NANOS, MAX_RESEND_NANOS);
        }
        acked = upTo;
        sentTo = Math.max(sentTo, acked);
        progressNanos = nowNanos;
        releaseHeld(acked, false);
    }

    /**
     * The end of a duty cycle, before the socket's flush: timers (resend, silence, held packets
     * that waited too long), then the outbox's unsent records, in datagrams.
     */
    void endCycle() {
        if (head > acked && nowNanos - progressNanos > resendTimeoutNanos) {
            sentTo = acked; // go back N
            progressNanos = nowNanos;
            lastResendNanos = nowNanos;
            resendTimeoutNanos = Math.min(2 * resendTimeoutNanos, MAX_RESEND_NANOS);
        }
        if (head > acked && nowNanos - appendedAt[(int) (acked & (OUTBOX_RECORDS - 1))] > SILENT_NANOS) {
            silent = true;
        }
        if (silent) {
            releaseHeld(Long.MAX_VALUE, true);
        }
        if (fleet.peerCount() > 0 && (!helloSent || nowNanos - helloSentNanos >= HELLO_NANOS)) {
            helloSent = true;
            helloSentNanos = nowNanos;
            for (int p = 0; p < fleet.peerCount(); p++) {
                int d = txSlot();
                if (d < 0) {
                    break;
                }
                FleetMessage.header(tx, d, FleetMessage.HELLO, 0, thread, fleet.selfIndex(), epoch, 0, incarnation & 0xffffffffL);
                send(d, FleetMessage.HEADER_SIZE, fleet.peer(p));
            }
        }
        int backup = fleet.backupIp();
        if (backup != 0 && sentTo == head && nowNanos - lastSentNanos > KEEPALIVE_NANOS) {
            int d = txSlot();
            if (d >= 0) { // nothing to send: an empty datagram, whose acknowledgement says who the backup is now
                FleetMessage.header(tx, d, FleetMessage.RECORDS, 0, thread, fleet.selfIndex(), epoch, sentTo, acked);
                send(d, FleetMessage.HEADER_SIZE, backup);
                lastSentNanos = nowNanos;
            }
        }
        // A silent backup (dead, most likely, until the plan names another) is asked with the oldest
        // datagram's worth per resend timeout, not the whole window: a thread that just took over a
        // dead member's flows has better things to do than send its outbox, up to 1,725 datagrams,
        // into the void every 50 ms. Its first acknowledgement ends the silence, and the rest follows.
        long until = silent ? Math.min(head, acked + FleetMessage.MAX_RECORDS) : head;
        while (backup != 0 && sentTo < until) {
            int d = txSlot();
            if (d < 0) {
                return;
            }
            int count = (int) Math.min(FleetMessage.MAX_RECORDS, until - sentTo);
            FleetMessage.header(tx, d, FleetMessage.RECORDS, count, thread, fleet.selfIndex(), epoch, sentTo, acked);
            for (int i = 0; i < count; i++) {
                int from = (int) ((sentTo + i) & (OUTBOX_RECORDS - 1)) * FleetMessage.RECORD_SIZE;
                tx.put(d + FleetMessage.HEADER_SIZE + i * FleetMessage.RECORD_SIZE, outbox, from, FleetMessage.RECORD_SIZE);
            }
            send(d, FleetMessage.HEADER_SIZE + count * FleetMessage.RECORD_SIZE, backup);
            lastSentNanos = nowNanos;
            sent += count;
            resent += Math.max(0, Math.min(sentTo + count, sentBefore) - sentTo);
            sentTo += count;
            sentBefore = Math.max(sentBefore, sentTo);
        }
    }

    /**
     * Passes a packet of member {@code owner}'s flow on to it, marked with its original outer
     * source, if that member is in service in the plan and was heard within {@link #HEARD_NANOS}.
     */
    @Override
    public boolean redirect(int owner, ByteBuffer frame, int offset, int length, int outerSource, Forwarder.PacketSink to) {
        int ip = fleet.servingIp(owner);
        if (ip == 0 || !heard[owner] || nowNanos - heardAt[owner] > HEARD_NANOS) {
            return false;
        }
        VxlanHeader.markRelayed(frame, offset, outerSource);
        to.send(frame, offset, length, ip, port);
        return true;
    }

    /** How long the channel waits for an acknowledgement before it sends everything unacknowledged again. */
    long resendTimeout() {
        return resendTimeoutNanos;
    }

    /** After the socket's flush: the datagrams and held packets queued so far are sent, their space free. */
    void flushed() {
        txUsed = 0;
        reusableFrom = heldHead;
    }

    private int txSlot() {
        if (txUsed == TX_DATAGRAMS) {
            return -1;
        }
        return txUsed++ * FleetMessage.MAX_SIZE;
    }

    private void send(int at, int length, int ip) {
        out.send(tx, at, length, ip, port);
        bytes += length;
    }

    void publish(Counters c) {
        c.set(Counter.REPLICATION_SENT, sent);
        c.set(Counter.REPLICATION_RECEIVED, received);
        c.set(Counter.REPLICATION_ACKED, acknowledged);
        c.set(Counter.REPLICATION_RESENT, resent);
        c.set(Counter.REPLICATION_BYTES, bytes);
        c.set(Counter.REPLICATION_LAG_MS, head > acked ? (nowNanos - appendedAt[(int) (acked & (OUTBOX_RECORDS - 1))]) / 1_000_000L : 0);
        c.set(Counter.REPLICATION_UNPROTECTED, unprotected);
        c.set(Counter.REPLICATION_HELD, heldCount);
        c.set(Counter.REPLICATION_OUT_OF_ORDER, outOfOrder);
        c.set(Counter.REPLICATION_BACKUP_RESTARTS, restarts);
    }
}
