package io.hyperplane.linux.underlay;

import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static io.hyperplane.linux.underlay.UnderlayLab.NODES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The underlay's building blocks against the real kernel (root), in {@link UnderlayLab}'s
 * namespaces: per-flow spreading of a kernel VXLAN device over a resilient group, a dead node
 * dropped by the prober with no survivor's flow moved, a returning node taken back only when
 * admitted and only into idle buckets, and a restart that adopts and a close that leaves nothing.
 * Behaviour is asserted, not wall time; the detection times are printed (FailoverTimes measures them).
 */
@Timeout(120)
class UnderlayNamespacesTest {
    private static final int FLOWS = 300;
    private static final int FIRST_PORT = 20_000;
    private static final Duration WITHIN = Duration.ofSeconds(10);
    private static UnderlayLab lab;

    private ResilientNexthopGroup group;
    private ProbedNexthopGroup probed;
    private final List<String> changes = new CopyOnWriteArrayList<>();
    private final AtomicLong changedAt = new AtomicLong();

    @BeforeAll
    static void build() throws Exception {
        assertThat(System.getProperty("user.name")).as("namespaces are made by root (run the tests as root)").isEqualTo("root");
        lab = new UnderlayLab("hp-tnh-");
    }

    @AfterAll
    static void tearDown() {
        if (lab != null) {
            lab.close();
            assertThat(Namespaces.list()).noneMatch(name -> name.startsWith("hp-tnh-"));
        }
    }

    @BeforeEach
    void allNodesUp() throws Exception {
        for (int i = 0; i < NODES.size(); i++) {
            lab.revive(i);
        }
        group = ResilientNexthopGroup.open(lab.groupSettings());
        lab.forget();
    }

    @AfterEach
    void closeGroup() throws Exception {
        if (probed != null) {
            probed.close();
        }
        if (group != null) {
            group.close();
        }
    }

    @Test
    void shouldSpreadInnerFlowsOverEveryNodeAndKeepEachFlowOnItsNode() throws Exception {
        group.members(Set.copyOf(NODES));

        Map<Integer, Integer> first = landing(FIRST_PORT, FLOWS);
        lab.forget();
        Map<Integer, Integer> again = landing(FIRST_PORT, FLOWS);

        int[] perNode = new int[NODES.size()];
        first.values().forEach(node -> perNode[node]++);
        System.out.printf("300 inner flows over 3 nodes: %d / %d / %d%n", perNode[0], perNode[1], perNode[2]);
        assertThat(Arrays.stream(perNode).boxed().toList()).as("every node carries a fair share (expected 100 each)")
                .allMatch(count -> count >= FLOWS / 6);
        assertThat(again).as("a flow sent again lands where it did").isEqualTo(first);
    }

    @Test
    void shouldDropADeadNodeAndMoveNoSurvivorsFlow() throws Exception {
        startProbed();
        Map<Integer, Integer> before = landing(FIRST_PORT, FLOWS);

        long killed = System.nanoTime();
        lab.kill(1);
        await().atMost(WITHIN).until(() -> group.members().equals(Set.of(NODES.get(0), NODES.get(2))));
        System.out.printf("node 2 silenced -> route changed: %d ms (%s)%n", (changedAt.get() - killed) / 1_000_000, changes);
        lab.forget();
        Map<Integer, Integer> after = landing(FIRST_PORT, FLOWS);

        assertThat(after).as("every flow still lands somewhere").hasSize(FLOWS);
        before.forEach((port, node) -> {
            if (node != 1) {
                assertThat(after.get(port)).as("survivor's flow " + port).isEqualTo(node);
            } else {
                assertThat(after.get(port)).as("the dead node's flow " + port).isIn(0, 2);
            }
        });
        assertThat(probed.evicted()).containsExactly(NODES.get(1));
    }

    @Test
    void shouldTakeAReturningNodeBackOnlyWhenAdmittedAndOnlyIntoIdleBuckets() throws Exception {
        startProbed();
        landing(FIRST_PORT, FLOWS);
        lab.kill(1);
        await().atMost(WITHIN).until(() -> group.members().equals(Set.of(NODES.get(0), NODES.get(2))));

        lab.revive(1);
        await().atMost(WITHIN).until(() -> probed.answers(NODES.get(1)));
        assertThat(group.members()).as("answering is not being in service").doesNotContain(NODES.get(1));

        // Live flows: a message every 100 ms each, as in the failover test.
        int activeFirst = 21_000;
        int active = 20;
        AtomicBoolean sending = new AtomicBoolean(true);
        Thread sender = Thread.ofVirtual().start(() -> {
            while (sending.get()) {
                try {
                    lab.send(activeFirst, active);
                    Thread.sleep(100); // pacing the traffic, not waiting for anything
                } catch (Exception e) {
                    return;
                }
            }
        });
        try {
            await().atMost(WITHIN).until(() -> landed(activeFirst, active).size() == active);
            lab.forget();
            Map<Integer, Integer> activeBefore = new HashMap<>();
            await().atMost(WITHIN).until(() -> {
                activeBefore.putAll(landed(activeFirst, active));
                return activeBefore.size() == active;
            });

            probed.admit(NODES.get(1));
            int fairShare = ResilientNexthopGroup.Settings.DEFAULT_BUCKETS / NODES.size();
            int returning = lab.groupSettings().groupId() + 2 + memberIndex(NODES.get(1));
            await().atMost(WITHIN).until(() -> lab.buckets().getOrDefault(returning, 0) >= fairShare);
            System.out.printf("buckets after the return (idle ones moved, busy ones kept): %s%n", lab.buckets());

            List<Set<Integer>> landed = lab.landed();
            for (int port = activeFirst; port < activeFirst + active; port++) {
                int p = port;
                List<Integer> on = new ArrayList<>();
                for (int node = 0; node < landed.size(); node++) {
                    if (landed.get(node).contains(p)) {
                        on.add(node);
                    }
                }
                assertThat(on).as("live flow " + port + " stayed on its node through the return").containsExactly(activeBefore.get(port));
            }
        } finally {
            sending.set(false);
            sender.join();
        }
        lab.forget();
        Map<Integer, Integer> idle = landing(FIRST_PORT, FLOWS);
        assertThat(idle.values()).as("idle flows' buckets went to the returning node").contains(1);
    }

    @Test
    void shouldAdoptAfterARestartAndLeaveNothingOnClose() {
        group.members(Set.copyOf(NODES));
        AtomicInteger batches = new AtomicInteger();
        ResilientNexthopGroup.Ip counting = (args, input) -> {
            if (args.getFirst().equals("-batch")) {
                batches.incrementAndGet();
            }
            return Commands.run(Commands.DEFAULT_TIMEOUT, Namespaces.ipIn(lab.sender, args.toArray(String[]::new)), input);
        };

        ResilientNexthopGroup restarted = ResilientNexthopGroup.open(lab.groupSettings(), counting);
        assertThat(restarted.members()).containsExactlyInAnyOrderElementsOf(NODES);
        restarted.members(Set.copyOf(NODES));
        assertThat(batches).as("nothing to change").hasValue(0);
        restarted.members(Set.of(NODES.get(0)));
        restarted.members(Set.of());
        assertThat(batches).hasValue(2);
        assertThat(lab.senderRouting()).contains("blackhole 198.19.255.1 nhid 1000");

        restarted.close();
        group = ResilientNexthopGroup.open(lab.groupSettings()); // what closeGroup() closes: nothing left to remove
        assertThat(lab.senderRouting()).as("no nexthop and no route left").isBlank();
    }

    @Test
    void shouldReportATargetThatNeverAnswersDownWithoutItEverBeingUp() throws Exception {
        List<String> told = new CopyOnWriteArrayList<>();
        InetSocketAddress nobody = new InetSocketAddress("198.18.0.99", UnderlayLab.PROBE_PORT);
        try (UdpLivenessProber prober = UdpLivenessProber.start(lab.sender, new InetSocketAddress(UnderlayLab.SENDER, 0),
                UdpLivenessProber.Settings.DEFAULTS, new UdpLivenessProber.Listener() {
                    @Override
                    public void up(InetSocketAddress target, int incarnation) {
                        told.add("up " + target.getAddress().getHostAddress());
                    }

                    @Override
                    public void down(InetSocketAddress target, Duration silent) {
                        told.add("down " + target.getAddress().getHostAddress());
                    }
                })) {
            prober.targets(List.of(UnderlayLab.probeTarget(NODES.get(0)), nobody));
            await().atMost(WITHIN).until(() -> told.size() == 2);
            assertThat(told).containsExactlyInAnyOrder("up 198.18.0.11", "down 198.18.0.99");

            prober.targets(List.of(nobody));
            await().atMost(WITHIN).until(() -> prober.verdict(UnderlayLab.probeTarget(NODES.get(0))) == UdpLivenessProber.Verdict.UNKNOWN);
            assertThat(told).as("a target removed is forgotten, not reported down").hasSize(2);
        }
    }

    private void startProbed() throws Exception {
        probed = ProbedNexthopGroup.start(group, new InetSocketAddress(UnderlayLab.SENDER, 0), UnderlayLab.PROBE_PORT,
                UdpLivenessProber.Settings.DEFAULTS, (address, up, members) -> {
                    changedAt.set(System.nanoTime());
                    changes.add((up ? "+" : "-") + address.getHostAddress());
                });
        probed.admit(NODES);
        await().atMost(WITHIN).until(() -> group.members().equals(Set.copyOf(NODES)));
    }

    /** The member id the group gave {@code node}: ids follow the addresses' order at first sight. */
    private int memberIndex(Inet4Address node) {
        return NODES.indexOf(node);
    }

    /** Sends one datagram per flow and waits until every one has landed; port → node index. */
    private Map<Integer, Integer> landing(int first, int count) throws Exception {
        lab.send(first, count);
        Map<Integer, Integer> where = new HashMap<>();
        await().atMost(WITHIN).until(() -> {
            where.clear();
            where.putAll(landed(first, count));
            return where.size() == count;
        });
        return where;
    }

    /** Which node each flow in the range landed on; a flow seen on two nodes fails the test. */
    private Map<Integer, Integer> landed(int first, int count) {
        Map<Integer, Integer> where = new HashMap<>();
        List<Set<Integer>> sets = lab.landed();
        for (int node = 0; node < sets.size(); node++) {
            for (int port : sets.get(node)) {
                if (port >= first && port < first + count) {
                    Integer previous = where.put(port, node);
                    assertThat(previous).as("flow " + port + " on one node only").isNull();
                }
            }
        }
        return where;
    }
}
