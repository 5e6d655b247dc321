package io.hyperplane.linux.underlay;

import io.hyperplane.metrics.LatencyRecorder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static io.hyperplane.linux.underlay.UnderlayLab.NODES;
import static org.awaitility.Awaitility.await;

/**
 * Measures, not asserts: how long from a node's death (its probe answers stop) to the sender's
 * route no longer using it, over {@link #KILLS} kills of the three nodes in turn, and what the
 * route change alone costs. Prints p50/p99/max; the figures are in docs/architecture.md ("The
 * fleet's underlay"). Run as root, under the lab lock:
 * <pre>
 *   flock /tmp/hp-e2e.lock mvn -B -q -pl linux -am test -Dtest=FailoverTimes \
 *       -Dsurefire.failIfNoSpecifiedTests=false -Dhp.measure.failover=true
 * </pre>
 */
@EnabledIfSystemProperty(named = "hp.measure.failover", matches = "true")
@Timeout(300)
class FailoverTimes {
    private static final int KILLS = 20;
    private static final int REPLACES = 50;
    private static final Duration WITHIN = Duration.ofSeconds(10);

    @Test
    void shouldPrintKillToRouteChangedTimes() throws Exception {
        LatencyRecorder failover = new LatencyRecorder();
        LatencyRecorder replace = new LatencyRecorder();
        AtomicLong changedAt = new AtomicLong();
        try (UnderlayLab lab = new UnderlayLab("hp-tnm-")) {
            ResilientNexthopGroup group = ResilientNexthopGroup.open(lab.groupSettings());
            try (ProbedNexthopGroup probed = ProbedNexthopGroup.start(group, new InetSocketAddress(UnderlayLab.SENDER, 0),
                    UnderlayLab.PROBE_PORT, UdpLivenessProber.Settings.DEFAULTS, (address, up, members) -> {
                        if (!up) {
                            changedAt.set(System.nanoTime());
                        }
                    })) {
                probed.admit(NODES);
                for (int kill = 0; kill < KILLS; kill++) {
                    int node = kill % NODES.size();
                    Inet4Address victim = NODES.get(node);
                    await().atMost(WITHIN).until(() -> group.members().equals(Set.copyOf(NODES)));
                    long killed = System.nanoTime();
                    lab.silence(node);
                    lab.cutLink(node);
                    await().atMost(WITHIN).until(() -> !group.members().contains(victim));
                    failover.recordNanos(changedAt.get() - killed);
                    lab.revive(node);
                    await().atMost(WITHIN).until(() -> probed.answers(victim));
                    probed.admit(victim);
                }
            }
            for (int i = 0; i < REPLACES; i++) {
                Set<Inet4Address> wanted = i % 2 == 0 ? Set.of(NODES.get(0), NODES.get(2)) : Set.copyOf(NODES);
                long start = System.nanoTime();
                group.members(wanted);
                replace.recordNanos(System.nanoTime() - start);
            }
            group.close();
        }
        print("kill -> route changed (50 ms probes, 3 misses)", failover.summary());
        print("one ip nexthop replace (fork + netlink)", replace.summary());
    }

    private static void print(String what, LatencyRecorder.Summary s) {
        System.out.printf("%-48s n=%d p50 %.1f ms  p99 %.1f ms  max %.1f ms%n", what, s.count(), s.p50Millis(), s.p99Millis(), s.maxMillis());
    }
}
