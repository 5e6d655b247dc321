package io.hyperplane.linux.underlay;

import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static io.hyperplane.linux.underlay.UnderlayLab.NODES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A worker host's steering against the real kernel (root): an environment's tunnel (made in the
 * host, moved into the environment, marked there) spreads its flows over three nodes per flow; a
 * node that dies has every one of its flows arrive at its backup within the prober's time and no
 * other flow moves; back and in service, its flows go home.
 */
@Timeout(120)
class SteeredGroupsNamespacesTest {
    private static final int FLOWS = 240;
    private static final int FIRST_PORT = 21_000;
    private static final Duration WITHIN = Duration.ofSeconds(10);
    private static UnderlayLab lab;

    @BeforeAll
    static void build() throws Exception {
        assertThat(System.getProperty("user.name")).as("namespaces are made by root (run the tests as root)").isEqualTo("root");
        lab = new UnderlayLab("hp-tsg-", true);
    }

    @AfterAll
    static void tearDown() {
        if (lab != null) {
            lab.close();
            assertThat(Namespaces.list()).noneMatch(name -> name.startsWith("hp-tsg-"));
        }
    }

    /** Members 1..3 at the lab's nodes, each backed by the next. */
    private static List<SteeredGroups.Member> fleet(boolean secondInService) {
        return List.of(new SteeredGroups.Member(1, NODES.get(0), true, 2), new SteeredGroups.Member(2, NODES.get(1), secondInService, 3),
                new SteeredGroups.Member(3, NODES.get(2), true, 1));
    }

    /** The test host's steering of {@code group}, probing from the lab's sender, every member in service. */
    private static SteeredGroups steering(ResilientNexthopGroup group) throws IOException {
        SteeredGroups steering = SteeredGroups.probed("test host", lab.sender, new InetSocketAddress(UnderlayLab.SENDER, 0),
                UnderlayLab.PROBE_PORT, UdpLivenessProber.Settings.DEFAULTS);
        steering.add(group);
        steering.members(fleet(true));
        return steering;
    }

    /** Sends one datagram per flow and waits until all have landed: which node (0..2) each inner source port reached. */
    private static Map<Integer, Integer> land() throws IOException {
        lab.forget();
        lab.send(FIRST_PORT, FLOWS);
        Map<Integer, Integer> where = new HashMap<>();
        await().atMost(WITHIN).until(() -> {
            where.clear();
            List<Set<Integer>> landed = lab.landed();
            for (int node = 0; node < landed.size(); node++) {
                for (int port : landed.get(node)) {
                    where.put(port, node);
                }
            }
            return where.size() == FLOWS;
        });
        return Map.copyOf(where);
    }

    @Test
    void shouldSendADeadMembersFlowsToItsBackupMovingNoOtherAndBringThemHomeOnceInService() throws Exception {
        ResilientNexthopGroup group = ResilientNexthopGroup.open(lab.groupSettings());
        try (SteeredGroups steering = steering(group)) {
            Map<Integer, Integer> home = land();
            for (int node = 0; node < 3; node++) {
                int n = node;
                assertThat(home.values().stream().filter(v -> v == n).count()).as("node %d's share of %d flows", node, FLOWS).isGreaterThan(FLOWS / 6);
            }

            long killed = System.nanoTime();
            lab.kill(1);
            await().atMost(WITHIN).until(() -> NODES.get(2).equals(steering.targets().get(2)));
            System.out.printf("member 2 re-pointed at its backup %d ms after its kill%n", (System.nanoTime() - killed) / 1_000_000);
            assertThat(group.slots()).as("its slot re-pointed, not removed").containsEntry(2, NODES.get(2)).hasSize(3);
            Map<Integer, Integer> covered = land();
            home.forEach((port, node) -> assertThat(covered.get(port)).as("flow %d", port).isEqualTo(node == 1 ? 2 : node));

            lab.revive(1);
            await().atMost(WITHIN).until(() -> steering.targets().size() == 3);
            assertThat(steering.targets().get(2)).as("answering again, but not back until in service anew").isEqualTo(NODES.get(2));
            steering.members(fleet(false)); // the node resynchronises, out of service
            assertThat(steering.targets().get(2)).isEqualTo(NODES.get(2));
            steering.members(fleet(true));
            assertThat(steering.targets()).containsEntry(2, NODES.get(1));
            assertThat(land()).as("every flow where it first went").isEqualTo(home);
        } finally {
            group.close();
        }
    }

    /**
     * A node that only went quiet (its link cut for a moment, as a node starved of CPU past the
     * prober's misses would look) answers again as the same process: it comes home at once, with
     * no new membership; the control plane never took it out of service, so nothing else would.
     */
    @Test
    void shouldTakeBackAMemberThatWentQuietWithoutRestarting() throws Exception {
        ResilientNexthopGroup group = ResilientNexthopGroup.open(lab.groupSettings());
        try (SteeredGroups steering = steering(group)) {
            await().atMost(WITHIN).until(() -> steering.targets().size() == 3);
            Map<Integer, Integer> home = land();

            lab.cutLink(1);
            await().atMost(WITHIN).until(() -> NODES.get(2).equals(steering.targets().get(2)));
            lab.revive(1); // the link back; the same responder, the same incarnation

            await().atMost(WITHIN).until(() -> NODES.get(1).equals(steering.targets().get(2)));
            assertThat(group.slots()).containsEntry(2, NODES.get(1));
            assertThat(land()).as("every flow where it first went").isEqualTo(home);
        } finally {
            group.close();
        }
    }

    @Test
    void shouldChainToTheBackupsBackupAndBlackholeOnlyWhenEveryMemberIsDown() {
        Inet4Address a = NODES.get(0);
        Inet4Address b = NODES.get(1);
        Inet4Address c = NODES.get(2);
        List<SteeredGroups.Member> members = List.of(new SteeredGroups.Member(1, a, true, 2), new SteeredGroups.Member(2, b, true, 3),
                new SteeredGroups.Member(3, c, true, 1));
        Map<Integer, Inet4Address> none = Map.of();
        assertThat(SteeredGroups.targets(members, m -> m.index() != 3, new TreeMap<>(none)))
                .as("1 and 2 down: both to 3").containsExactly(Map.entry(1, c), Map.entry(2, c), Map.entry(3, c));
        assertThat(SteeredGroups.targets(members, m -> true, new TreeMap<>(none))).as("all down: blackholed").isEmpty();
        List<SteeredGroups.Member> unheard = List.of(new SteeredGroups.Member(1, a, false, 0), new SteeredGroups.Member(2, b, false, 0));
        assertThat(SteeredGroups.targets(unheard, m -> false, new TreeMap<>(none)))
                .as("out of service with nobody to cover, not down: home").containsExactly(Map.entry(1, a), Map.entry(2, b));
    }
}
