package io.hyperplane.linux.underlay;

import io.hyperplane.linux.exec.CommandFailedException;
import io.hyperplane.linux.exec.ExecResult;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the group asks of {@code ip}, with a recording fake that answers {@code nexthop show} and
 * {@code route show} as the kernel printed them (iproute2 6.1, measured): the fewest lines, one for
 * a removal, none when converged, adoption of a previous owner's state, exact ids on close. The
 * kernel side is {@link UnderlayNamespacesTest}'s.
 */
class ResilientNexthopGroupTest {
    private static final Inet4Address ANYCAST = Inet4Address.ofLiteral("198.19.255.1");
    private static final Inet4Address N1 = Inet4Address.ofLiteral("198.18.0.11");
    private static final Inet4Address N2 = Inet4Address.ofLiteral("198.18.0.12");
    private static final Inet4Address N3 = Inet4Address.ofLiteral("198.18.0.13");
    private static final ResilientNexthopGroup.Settings SETTINGS = new ResilientNexthopGroup.Settings("hp-x", "ul0", ANYCAST, 1000, 4,
            128, Duration.ofSeconds(2), Duration.ofSeconds(30));
    private static final String TIMERS = " type resilient buckets 128 idle_timer 2 unbalanced_timer 30";

    /** Answers show commands with the given text and records every batch it is fed. */
    private static final class RecordingIp implements ResilientNexthopGroup.Ip {
        String nexthops = "";
        String route = "";
        final List<String> batches = new ArrayList<>();
        boolean refuse;

        @Override
        public ExecResult run(List<String> args, String input) {
            if (args.equals(List.of("nexthop", "show"))) {
                return new ExecResult(args, 0, nexthops, "");
            }
            if (args.equals(List.of("route", "show", "198.19.255.1/32"))) {
                return new ExecResult(args, 0, route, "");
            }
            if (args.equals(List.of("-batch", "-"))) {
                batches.add(input);
                return new ExecResult(args, refuse ? 1 : 0, "", refuse ? "Error: Nexthop id does not exist." : "");
            }
            throw new AssertionError("unexpected ip " + args);
        }
    }

    @Test
    void shouldBuildObjectsGroupAndRouteInOneBatch() {
        RecordingIp ip = new RecordingIp();
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);

        group.members(Set.of(N2, N1, N3));

        assertThat(ip.batches).containsExactly("""
                nexthop add id 1002 via 198.18.0.11 dev ul0
                nexthop add id 1003 via 198.18.0.12 dev ul0
                nexthop add id 1004 via 198.18.0.13 dev ul0
                nexthop add id 1000 group 1002/1003/1004%s
                route replace 198.19.255.1/32 nhid 1000
                """.formatted(TIMERS));
        assertThat(group.members()).containsExactlyInAnyOrder(N1, N2, N3);
    }

    @Test
    void shouldRemoveAMemberWithOneReplaceAndRunNothingWhenConverged() {
        RecordingIp ip = new RecordingIp();
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);
        group.members(Set.of(N1, N2, N3));
        ip.batches.clear();

        group.members(Set.of(N1, N3));
        group.members(Set.of(N1, N3));

        assertThat(ip.batches).containsExactly("nexthop replace id 1000 group 1002/1004" + TIMERS + "\n");
    }

    @Test
    void shouldTakeAReturningMemberBackWithOneReplace() {
        RecordingIp ip = new RecordingIp();
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);
        group.members(Set.of(N1, N2, N3));
        group.members(Set.of(N1, N3));
        ip.batches.clear();

        group.members(Set.of(N1, N2, N3));

        assertThat(ip.batches).containsExactly("nexthop replace id 1000 group 1002/1003/1004" + TIMERS + "\n");
    }

    @Test
    void shouldBlackholeTheDestinationWhenNoMemberIsLeft() {
        RecordingIp ip = new RecordingIp();
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);
        group.members(Set.of(N1));
        ip.batches.clear();

        group.members(Set.of());
        group.members(Set.of(N2));

        assertThat(ip.batches).containsExactly("""
                nexthop add id 1001 blackhole
                nexthop replace id 1000 group 1001%s
                """.formatted(TIMERS), """
                nexthop add id 1003 via 198.18.0.12 dev ul0
                nexthop replace id 1000 group 1003%s
                """.formatted(TIMERS));
        assertThat(group.members()).containsExactly(N2);
    }

    @Test
    void shouldAdoptWhatAPreviousOwnerLeftAndChangeNothingWhenItIsWanted() {
        RecordingIp ip = new RecordingIp();
        ip.nexthops = """
                id 7 via 198.18.0.99 dev ul0 scope link
                id 1000 group 1002/1004 type resilient buckets 128 idle_timer 2 unbalanced_timer 30 unbalanced_time 0
                id 1002 via 198.18.0.11 dev ul0 scope link
                id 1003 via 198.18.0.12 dev ul0 scope link
                id 1004 via 198.18.0.13 dev ul0 scope link
                """;
        ip.route = """
                198.19.255.1 nhid 1000
                \tnexthop via 198.18.0.11 dev ul0 weight 1
                \tnexthop via 198.18.0.13 dev ul0 weight 1
                """;
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);

        assertThat(group.members()).containsExactlyInAnyOrder(N1, N3);
        group.members(Set.of(N1, N3));
        assertThat(ip.batches).isEmpty();

        group.close();
        assertThat(ip.batches).as("exact ids: never id 7, which is not in the range").containsExactly("""
                route del 198.19.255.1/32 nhid 1000
                nexthop del id 1000
                nexthop del id 1002
                nexthop del id 1003
                nexthop del id 1004
                """);
    }

    @Test
    void shouldMakeTheGroupAgainWhenItsBucketCountDiffers() {
        RecordingIp ip = new RecordingIp();
        ip.nexthops = """
                id 1000 group 1002 type resilient buckets 64 idle_timer 0 unbalanced_timer 0 unbalanced_time 0
                id 1002 via 198.18.0.11 dev ul0 scope link
                """;
        ip.route = "198.19.255.1 nhid 1000 via 198.18.0.11 dev ul0\n";
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);

        group.members(Set.of(N1));

        assertThat(ip.batches).containsExactly("""
                nexthop del id 1000
                nexthop add id 1000 group 1002%s
                route replace 198.19.255.1/32 nhid 1000
                """.formatted(TIMERS));
    }

    @Test
    void shouldReuseTheIdOfAnAddressThatLeftWhenTheRangeIsFull() {
        RecordingIp ip = new RecordingIp();
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);
        Inet4Address n4 = Inet4Address.ofLiteral("198.18.0.14");
        Inet4Address n5 = Inet4Address.ofLiteral("198.18.0.15");
        group.members(Set.of(N1, N2, N3, n4));
        group.members(Set.of(N1, N3, n4));
        ip.batches.clear();

        group.members(Set.of(N1, N3, n4, n5));

        assertThat(ip.batches).containsExactly("""
                nexthop replace id 1003 via 198.18.0.15 dev ul0
                nexthop replace id 1000 group 1002/1003/1004/1005%s
                """.formatted(TIMERS));
    }

    @Test
    void shouldReadTheKernelAgainWhenIpRefuses() {
        RecordingIp ip = new RecordingIp();
        ResilientNexthopGroup group = ResilientNexthopGroup.open(SETTINGS, ip);
        ip.refuse = true;

        assertThatThrownBy(() -> group.members(Set.of(N1))).isInstanceOf(CommandFailedException.class)
                .hasMessageContaining("Nexthop id does not exist");
        ip.refuse = false;
        group.members(Set.of(N1));

        assertThat(ip.batches).hasSize(2).allMatch(batch -> batch.startsWith("nexthop add id 1002 via 198.18.0.11"));
    }

    @Test
    void shouldRefuseSettingsThatNameTheirFault() {
        assertThatThrownBy(() -> new ResilientNexthopGroup.Settings("hp-x", "ul0", ANYCAST, 1000, 4, 128, Duration.ofMillis(1500),
                Duration.ZERO)).hasMessage("idleTimer PT1.5S: must be whole seconds, 0..1000000");
        assertThatThrownBy(() -> new ResilientNexthopGroup.Settings("hp-x", "ul0", ANYCAST, 1000, 200, 128, Duration.ZERO, Duration.ZERO))
                .hasMessage("buckets 128: must be 200 (maxMembers)..65535");
        assertThatThrownBy(() -> new ResilientNexthopGroup.Settings("../x", "ul0", ANYCAST, 1000, 4, 128, Duration.ZERO, Duration.ZERO))
                .hasMessage("namespace '../x': must be a plain name");
        assertThatThrownBy(() -> ResilientNexthopGroup.open(SETTINGS, new RecordingIp()).members(
                Set.of(N1, N2, N3, Inet4Address.ofLiteral("198.18.0.14"), Inet4Address.ofLiteral("198.18.0.15"))))
                .hasMessage("members: 5 addresses, room for 4");
    }
}
