package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.node.io.FleetMessage;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.TcpHeader;
import io.hyperplane.packet.VxlanHeader;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two nodes' channels wired to each other in memory (Netty's EmbeddedChannel habit): what one
 * sends is handed to the other's receive by the test, which can lose it; time is advanced by hand.
 */
class ReplicationChannelTest {
    private static final String A = "198.18.0.11";
    private static final String B = "198.18.0.12";
    private static final FleetPlan PLAN = FleetPlan.of(1, List.of(new FleetPlan.Candidate(1, "a", A, true),
            new FleetPlan.Candidate(2, "b", B, true)));

    /** One node: its forwarder, its channel, and what it sent (packets and channel datagrams). */
    private static final class Node {
        final Forwarder forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(1 << 12));
        final List<Sent> sent = new ArrayList<>();
        final ReplicationChannel channel;
        final int ip;

        Node(String ip) {
            this(ip, PLAN);
        }

        Node(String ip, FleetPlan plan) {
            this.ip = Ipv4Address.parse(ip);
            channel = new ReplicationChannel(0, forwarder, (buffer, offset, length, to, port) -> {
                byte[] copy = new byte[length];
                buffer.get(offset, copy);
                sent.add(new Sent(ByteBuffer.wrap(copy), to));
            }, 2048, ReplicationChannel.newIncarnation());
            forwarder.startClock(1000);
            NodeSnapshot snapshot = TestConfigs.snapshot(1);
            forwarder.config(CompiledConfig.compile(snapshot));
            channel.fleet(NodeFleet.of(plan, this.ip), 4789);
            ByteBuffer arp = TestFrames.arp(SUBNET1_VNI, RES1_MAC, ENI_MAC, ArpPacket.REPLY, RES1_MAC, RES1, ENI_MAC, ENI_IP);
            forwarder.process(arp, 0, arp.limit(), VTEP, (b, o, l, t, p) -> { });
        }

        /** An EE's SYN: the forwarder decides it, its first packet offered to the channel as the agent's sink does. */
        void syn(int sourcePort) {
            ByteBuffer frame = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, sourcePort, RES1, 5432, TcpHeader.SYN, 0);
            forwarder.process(frame, 0, frame.limit(), HOST, (buffer, offset, length, to, port) -> {
                if (!(forwarder.sendingFirstPacket() && channel.hold(buffer, offset, length, to, port))) {
                    byte[] copy = new byte[length];
                    buffer.get(offset, copy);
                    sent.add(new Sent(ByteBuffer.wrap(copy), to));
                }
            });
        }

        /** {@code count} SYNs from source ports 20,000 up: as many new flows. */
        void syns(int count) {
            for (int i = 0; i < count; i++) {
                syn(20_000 + i);
            }
        }

        long counter(Counter c) {
            Counters counters = forwarder.counters();
            channel.publish(counters);
            return counters.get(c);
        }

        /** The end of a duty cycle at {@code nanos}. */
        void cycle(long nanos) {
            channel.cycle(nanos);
            channel.endCycle();
            channel.flushed();
        }

        List<Sent> take() {
            List<Sent> out = new ArrayList<>(sent);
            sent.clear();
            return out;
        }
    }

    private record Sent(ByteBuffer bytes, int to) {
        boolean isFleet() {
            return FleetMessage.is(bytes, 0, bytes.limit());
        }
    }

    /** Delivers what {@code from} sent on the channel to {@code to}, each datagram lost with probability {@code loss}; returns the packets it sent. */
    private static List<Sent> deliver(Node from, Node to, double loss, SplittableRandom random) {
        List<Sent> packets = new ArrayList<>();
        for (Sent s : from.take()) {
            if (!s.isFleet()) {
                packets.add(s);
            } else if (random.nextDouble() >= loss) {
                to.channel.receive(s.bytes(), 0, s.bytes().limit(), from.ip);
            }
        }
        return packets;
    }

    @Test
    void shouldHoldAFirstPacketUntilTheBackupAcknowledgesItsFlow() {
        Node a = new Node(A);
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(1);
        a.syn(40_000);
        a.cycle(1_000_000);
        assertThat(deliver(a, b, 0, random)).as("the SYN waits").isEmpty();
        b.forwarder.tick(1000, (x, y, z, t, p) -> { });
        assertThat(b.forwarder.counters().get(Counter.REPLICAS)).as("the copy is on B").isEqualTo(1);
        b.cycle(1_100_000);
        deliver(b, a, 0, random);
        a.cycle(1_200_000);
        List<Sent> released = a.take();
        assertThat(released).hasSize(1);
        assertThat(released.getFirst().to()).isEqualTo(VTEP);
        assertThat(a.counter(Counter.REPLICATION_HELD)).isEqualTo(1);
        assertThat(a.counter(Counter.REPLICATION_ACKED)).isEqualTo(1);
        assertThat(a.counter(Counter.REPLICATION_UNPROTECTED)).isZero();
        assertThat(a.counter(Counter.REPLICATION_LAG_MS)).isZero();
    }

    /** Half the datagrams both ways lost, the first ones included: the resends bring every copy over and every held packet out. */
    /** One duty cycle of each at {@code now}, what each sent delivered to the other with {@code loss}; returns the packets {@code a} sent. */
    private static List<Sent> exchange(Node a, Node b, long now, double loss, SplittableRandom random) {
        a.cycle(now);
        List<Sent> packets = deliver(a, b, loss, random);
        b.cycle(now);
        deliver(b, a, loss, random);
        return packets;
    }

    @Test
    void shouldConvergeUnderLoss() {
        Node a = new Node(A);
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(7);
        int flows = 200; // within the held packets' queue: a burst beyond it goes unprotected
        int forwarded = 0;
        long now = 1_000_000;
        a.syns(flows);
        for (int round = 0; round < 200 && (forwarded < flows || a.counter(Counter.REPLICATION_LAG_MS) > 0); round++) {
            now += ReplicationChannel.RESEND_NANOS / 4;
            forwarded += exchange(a, b, now, 0.5, random).size();
        }
        b.forwarder.tick(1000, (x, y, z, t, p) -> { });
        assertThat(forwarded).isEqualTo(flows);
        assertThat(b.forwarder.counters().get(Counter.REPLICAS)).isEqualTo(flows);
        assertThat(a.counter(Counter.REPLICATION_RESENT)).isPositive();
        assertThat(a.counter(Counter.REPLICATION_LAG_MS)).isZero();
        // Some first packets went before their copy: a copy that took over SILENT_NANOS, by design.
        assertThat(a.counter(Counter.REPLICATION_HELD)).isPositive();
    }

    /**
     * A backup whose acknowledgements take 30 ms (a busy machine's, as in the kill test): after the
     * first record, resent once at the initial 20 ms, the channel waits for them instead of sending
     * everything again every 20 ms.
     */
    @Test
    void shouldWaitForSlowAcknowledgementsRatherThanResendEverything() {
        Node a = new Node(A);
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(3);
        long rtt = 30_000_000L;
        long now = 1_000_000;
        for (int i = 0; i < 20; i++) {
            a.syn(30_000 + i);
            for (long t = 0; t < rtt; t += ReplicationChannel.RESEND_NANOS / 4) {
                a.cycle(now + t);
                deliver(a, b, 0, random);
            }
            b.cycle(now + rtt);
            deliver(b, a, 0, random); // the acknowledgement, 30 ms late
            now += rtt;
            a.cycle(now);
            a.take();
        }
        assertThat(a.counter(Counter.REPLICATION_ACKED)).isEqualTo(20);
        assertThat(a.counter(Counter.REPLICATION_RESENT)).as("only before the first round trip was known").isEqualTo(1);
        assertThat(a.channel.resendTimeout()).isEqualTo(ReplicationChannel.MAX_RESEND_NANOS);
    }

    /** A node alone gets a backup: every flow it has, idle ones included, is copied over, a share per cycle. */
    @Test
    void shouldCopyEveryFlowToANewBackup() {
        Node a = new Node(A, FleetPlan.of(1, List.of(new FleetPlan.Candidate(1, "a", A, true))));
        Node b = new Node(B);
        int flows = 100;
        a.syns(flows);
        assertThat(a.take()).as("no backup: sent at once, nothing copied").hasSize(flows);
        assertThat(a.channel.fleet(NodeFleet.of(PLAN, a.ip), 4789)).as("a new backup").isTrue();
        a.forwarder.startResync();
        SplittableRandom random = new SplittableRandom(5);
        boolean done = false;
        for (int cycle = 1; cycle < 1000 && !done; cycle++) {
            done = a.forwarder.resync(a.channel.resyncBudget());
            a.cycle(cycle * 1_000_000L);
            deliver(a, b, 0, random);
            b.cycle(cycle * 1_000_000L);
            deliver(b, a, 0, random);
        }
        a.cycle(2_000_000_000L);
        deliver(a, b, 0, random);
        b.forwarder.tick(1000, (x, y, z, t, p) -> { });
        assertThat(done).isTrue();
        assertThat(b.forwarder.counters().get(Counter.REPLICAS)).isEqualTo(flows);
        assertThat(a.channel.fleet(NodeFleet.of(PLAN, a.ip), 4789)).as("the same backup again: no resync").isFalse();
    }

    /**
     * The backup restarts in place (same address, a new process without the copies) while no flow
     * changes: the keepalive's acknowledgement comes from another incarnation, the channel starts
     * a new stream, and every flow is copied to the new process.
     */
    @Test
    void shouldCopyEveryFlowAgainToABackupThatRestartedInPlace() {
        Node a = new Node(A);
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(9);
        int flows = 50;
        a.syns(flows);
        long now = 1_000_000;
        for (int round = 0; round < 10; round++, now += 1_000_000) {
            exchange(a, b, now, 0, random);
        }
        assertThat(a.counter(Counter.REPLICATION_ACKED)).isEqualTo(flows);
        int first = a.channel.backupIncarnation();
        assertThat(first).as("known from the acknowledgements").isNotZero();

        Node restarted = new Node(B);
        now += ReplicationChannel.KEEPALIVE_NANOS + 1;
        a.cycle(now);
        List<Sent> keepalive = a.take().stream().filter(x -> FleetMessage.type(x.bytes(), 0) == FleetMessage.RECORDS).toList();
        assertThat(keepalive).as("nothing to send for a while: one keepalive").hasSize(1);
        restarted.channel.receive(keepalive.getFirst().bytes(), 0, keepalive.getFirst().bytes().limit(), a.ip);
        restarted.cycle(now);
        deliver(restarted, a, 0, random);
        assertThat(a.channel.backupIncarnation()).as("the new process's").isNotEqualTo(first).isNotZero();
        assertThat(a.channel.takeBackupRestarted()).isTrue();
        assertThat(a.channel.takeBackupRestarted()).as("told once").isFalse();

        a.forwarder.startResync(); // as the forwarding thread does when told
        boolean done = false;
        for (int cycle = 0; cycle < 1000 && !done; cycle++, now += 1_000_000) {
            done = a.forwarder.resync(a.channel.resyncBudget());
            exchange(a, restarted, now, 0, random);
        }
        restarted.forwarder.tick(1000, (x, y, z, t, p) -> { });
        assertThat(done).isTrue();
        assertThat(restarted.forwarder.counters().get(Counter.REPLICAS)).as("every flow on the new process").isEqualTo(flows);
        assertThat(a.counter(Counter.REPLICATION_BACKUP_RESTARTS)).isEqualTo(1);
        assertThat(a.channel.takeBackupRestarted()).as("the same process since").isFalse();
    }

    /**
     * B passes a packet of A's flow on to A only while A is in service and heard lately (its hellos
     * every HELLO_NANOS), marked with the packet's original outer source; never to a member it has
     * not heard within HEARD_NANOS, which may have died.
     */
    @Test
    void shouldRedirectOnlyToAMemberInServiceAndHeardLately() {
        Node a = new Node(A);
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(11);
        ByteBuffer frame = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 5000, RES1, 5432, TcpHeader.ACK, 0);
        List<Sent> passed = new ArrayList<>();
        Forwarder.PacketSink to = (buffer, offset, length, ip, port) -> {
            byte[] copy = new byte[length];
            buffer.get(offset, copy);
            passed.add(new Sent(ByteBuffer.wrap(copy), ip));
        };
        b.cycle(1_000_000);
        assertThat(b.channel.redirect(1, frame, 0, frame.limit(), HOST, to)).as("A not heard yet").isFalse();

        a.cycle(1_000_000); // its hello
        deliver(a, b, 0, random);
        assertThat(b.channel.redirect(1, frame, 0, frame.limit(), HOST, to)).isTrue();
        assertThat(passed).singleElement().satisfies(p -> {
            assertThat(p.to()).isEqualTo(a.ip);
            assertThat(VxlanHeader.isRelayed(p.bytes(), 0)).isTrue();
            assertThat(VxlanHeader.relayedSource(p.bytes(), 0)).as("the original outer source").isEqualTo(HOST);
        });

        long later = 1_000_000 + ReplicationChannel.HEARD_NANOS + 1;
        b.cycle(later);
        assertThat(b.channel.redirect(1, frame, 0, frame.limit(), HOST, to)).as("not heard since: maybe dead").isFalse();
        a.cycle(later);
        deliver(a, b, 0, random);
        assertThat(b.channel.redirect(1, frame, 0, frame.limit(), HOST, to)).as("heard again").isTrue();

        FleetPlan aAway = FleetPlan.of(2, List.of(new FleetPlan.Candidate(1, "a", A, false), new FleetPlan.Candidate(2, "b", B, true)));
        b.channel.fleet(NodeFleet.of(aAway, b.ip), 4789);
        assertThat(b.channel.redirect(1, frame, 0, frame.limit(), HOST, to)).as("out of service in the plan").isFalse();
        assertThat(b.channel.redirect(7, frame, 0, frame.limit(), HOST, to)).as("no such member").isFalse();
    }

    @Test
    void shouldLetFirstPacketsGoWhenTheBackupStaysSilent() {
        Node a = new Node(A);
        a.syn(40_000);
        a.cycle(1_000_000);
        assertThat(a.take().stream().filter(s -> !s.isFleet())).isEmpty();
        a.cycle(1_000_000 + ReplicationChannel.SILENT_NANOS + 1);
        assertThat(a.take().stream().filter(s -> !s.isFleet())).hasSize(1);
        assertThat(a.counter(Counter.REPLICATION_UNPROTECTED)).isEqualTo(1);
        a.syn(40_001);
        assertThat(a.take().stream().filter(s -> !s.isFleet())).as("sent at once while silent").hasSize(1);
    }

    /**
     * A backup that dies leaves its member's channel with a full window unacknowledged until the
     * plan names another (a second or more). The channel asks it again with the oldest datagram per
     * resend, not every record every 50 ms; when it answers, the rest follows and all converge.
     */
    @Test
    void shouldAskASilentBackupWithOneDatagramPerResendNotTheWholeWindow() {
        Node a = new Node(A);
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(11);
        int flows = 1000;
        a.syns(flows);
        long now = 1_000_000;
        a.cycle(now);
        assertThat(records(a.take())).as("the window, sent once").isEqualTo(flows);
        long silence = 2_000_000_000L;
        long silentFrom = ReplicationChannel.SILENT_NANOS + ReplicationChannel.MAX_RESEND_NANOS;
        long asked = 0;
        for (long t = 0; t < silence; t += 5_000_000L) {
            a.cycle(now + t);
            long records = records(a.take()); // lost: the backup is dead
            asked += t >= silentFrom ? records : 0;
        }
        assertThat(asked).as("records sent to the backup once silent, in %d ms (the window is %d)", (silence - silentFrom) / 1_000_000, flows)
                .isLessThanOrEqualTo(((silence - silentFrom) / ReplicationChannel.MAX_RESEND_NANOS + 1) * FleetMessage.MAX_RECORDS);
        now += silence;
        for (int round = 0; round < 100 && a.counter(Counter.REPLICATION_ACKED) < flows; round++) {
            now += ReplicationChannel.RESEND_NANOS / 4;
            exchange(a, b, now, 0, random);
        }
        assertThat(a.counter(Counter.REPLICATION_ACKED)).as("every record, once the backup answers").isEqualTo(flows);
        b.forwarder.tick(1000, (x, y, z, t, p) -> { });
        assertThat(b.forwarder.counters().get(Counter.REPLICAS)).isEqualTo(flows);
    }

    /** Records carried by the channel's records datagrams among {@code sent}. */
    private static long records(List<Sent> sent) {
        return sent.stream().filter(s -> s.isFleet() && FleetMessage.type(s.bytes(), 0) == FleetMessage.RECORDS)
                .mapToLong(s -> FleetMessage.count(s.bytes(), 0)).sum();
    }

    @Test
    void shouldIgnoreGarbageAndStrangers() {
        Node b = new Node(B);
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 10_000; i++) {
            ByteBuffer garbage = ByteBuffer.allocate(random.nextInt(1, 200));
            random.nextBytes(garbage.array());
            garbage.put(0, FleetMessage.MAGIC);
            b.channel.receive(garbage, 0, garbage.limit(), Ipv4Address.parse(random.nextBoolean() ? A : "198.18.0.99"));
        }
        b.forwarder.tick(1000, (x, y, z, t, p) -> { });
        assertThat(b.forwarder.counters().get(Counter.REPLICAS)).isZero();
    }
}
