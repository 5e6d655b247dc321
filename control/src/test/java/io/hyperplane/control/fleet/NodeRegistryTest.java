package io.hyperplane.control.fleet;

import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.config.fleet.NodeHeartbeat.EniUsage;
import io.hyperplane.config.fleet.NodeHeartbeat.NatGatewayUsage;
import io.hyperplane.control.fabric.ForwarderNodes;
import io.hyperplane.control.store.Database;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/** How nodes' reports move the version the control plane believes each node runs, and what load it believes they carry. */
class NodeRegistryTest {
    private static final String NODE_IP = "198.18.0.1";
    @TempDir
    Path dir;
    private Database db;
    private NodeRegistry registry;

    @BeforeEach
    void open() {
        db = Database.embedded(dir);
        registry = new NodeRegistry(new ForwarderNodes(db, () -> { }), Duration.ofSeconds(30), Clock.systemUTC());
    }

    @AfterEach
    void close() {
        db.close();
    }

    private long version(String node) {
        return registry.all().stream().filter(n -> n.name().equals(node)).findFirst().orElseThrow().appliedVersion();
    }

    @Test
    void aHeartbeatWrittenBeforeAnAcknowledgementDoesNotLowerIt() {
        registry.heartbeat("n1", NODE_IP, 4789, 5, "run-1", List.of(), List.of());
        registry.polled("n1", 7); // the stream's acknowledgement of version 7 ...
        registry.heartbeat("n1", NODE_IP, 4789, 6, "run-1", List.of(), List.of()); // ... overtook a heartbeat written at 6
        assertThat(version("n1")).isEqualTo(7);

        CompletableFuture<Void> waiter = registry.whenApplied(7, Duration.ofSeconds(5));
        assertThat(waiter).as("an environment in version 7 is programmed on the node").isDone();
    }

    @Test
    void aRestartedNodeReportsWhatItRunsEvenIfLess() {
        registry.heartbeat("n1", NODE_IP, 4789, 9, "run-1", List.of(), List.of());
        registry.heartbeat("n1", NODE_IP, 4789, 4, "run-2", List.of(), List.of()); // restarted from an older cached version
        assertThat(version("n1")).isEqualTo(4);
        assertThat(registry.whenApplied(9, Duration.ofSeconds(5))).as("waits for the restarted node").isNotDone();
        assertThat(registry.behind(9)).containsExactly("n1 (at 4)");
    }

    @Test
    void acknowledgementsOnlyRaiseTheVersion() {
        registry.heartbeat("n1", NODE_IP, 4789, 8, "run-1", List.of(), List.of());
        registry.polled("n1", 3);
        assertThat(version("n1")).isEqualTo(8);
        registry.polled("unknown", 3);
        assertThat(registry.all()).extracting(NodeRegistry.NodeStatus::name).containsExactly("n1");
    }

    @Test
    void shouldSumEachEnisLoadOverTheLiveNodes() {
        registry.heartbeat("n1", NODE_IP, 4789, 1, "run-1", List.of(new EniUsage("eni-1", "10.0.1.4", 3, 4), new EniUsage("eni-2", "10.0.1.4", 1, 1)), List.of());
        registry.heartbeat("n2", "198.18.0.2", 4789, 1, "run-1", List.of(new EniUsage("eni-1", "10.0.1.4", 10, 20)), List.of());

        assertThat(registry.loadByEni()).containsOnly(Map.entry("eni-1", new NodeRegistry.EniLoad(13, 24)),
                Map.entry("eni-2", new NodeRegistry.EniLoad(1, 1)));
    }

    @Test
    void shouldSumEachNatGatewaysMetricsOverTheLiveNodesAndForgetADeadNodes() {
        HandClock clock = new HandClock();
        Duration liveness = Duration.ofSeconds(3);
        NodeRegistry registry = new NodeRegistry(new ForwarderNodes(db, () -> { }), liveness, clock);
        registry.heartbeat("n1", NODE_IP, 4789, 1, "run-1", List.of(), List.of(
                new NatGatewayUsage("nat-1", Map.of("ActiveConnectionCount", 2L, "ErrorPortAllocation", 1L)),
                new NatGatewayUsage("nat-2", Map.of("ActiveConnectionCount", 7L))));
        registry.heartbeat("n2", "198.18.0.2", 4789, 1, "run-1", List.of(), List.of(
                new NatGatewayUsage("nat-1", Map.of("ActiveConnectionCount", 3L, "ErrorPortAllocation", 0L))));

        NodeRegistry.NatGatewayMetrics nat1 = registry.metricsByNatGateway().get("nat-1");
        assertThat(nat1.total()).containsOnly(Map.entry("ActiveConnectionCount", 5L), Map.entry("ErrorPortAllocation", 1L));
        assertThat(nat1.byNode()).containsOnlyKeys("n1", "n2");
        assertThat(nat1.byNode().get("n2")).containsEntry("ActiveConnectionCount", 3L);
        assertThat(registry.metricsByNatGateway().get("nat-2").total()).containsOnly(Map.entry("ActiveConnectionCount", 7L));

        registry.polled("n2", 2); // an acknowledgement keeps what the node last reported
        assertThat(registry.metricsByNatGateway().get("nat-1").byNode()).containsOnlyKeys("n1", "n2");

        clock.advance(liveness.plusSeconds(1));
        registry.heartbeat("n1", NODE_IP, 4789, 1, "run-1", List.of(), List.of(
                new NatGatewayUsage("nat-1", Map.of("ActiveConnectionCount", 2L, "ErrorPortAllocation", 1L))));
        assertThat(registry.metricsByNatGateway()).as("n2 fell silent; nat-2 left n1's configuration").containsOnlyKeys("nat-1");
        assertThat(registry.metricsByNatGateway().get("nat-1").total()).containsOnly(Map.entry("ActiveConnectionCount", 2L),
                Map.entry("ErrorPortAllocation", 1L));
        assertThat(registry.metricsByNatGateway().get("nat-1").byNode()).containsOnlyKeys("n1");
    }

    @Test
    void shouldGiveEachLiveNodeItsShareOfTheFleetsFlowsAndADeadOneNone() {
        HandClock clock = new HandClock();
        Duration liveness = Duration.ofSeconds(3);
        NodeRegistry registry = new NodeRegistry(new ForwarderNodes(db, () -> { }), liveness, clock);
        registry.heartbeat("n1", new NodeHeartbeat(NODE_IP, 4789, 1, "run-1", List.of(new EniUsage("eni-1", "10.0.1.4", 3, 4)), List.of(), 30, 40));
        registry.heartbeat("n2", new NodeHeartbeat("198.18.0.2", 4789, 1, "run-1", List.of(), List.of(), 10, 12));

        NodeRegistry.Fleet fleet = registry.fleet();

        assertThat(fleet.flows()).isEqualTo(40);
        assertThat(fleet.natPorts()).isEqualTo(52);
        assertThat(fleet.nodes()).extracting(s -> s.node().name(), NodeRegistry.NodeShare::live, NodeRegistry.NodeShare::flowShare)
                .containsExactly(tuple("n1", true, 0.75), tuple("n2", true, 0.25));

        clock.advance(liveness.plusSeconds(1));
        registry.heartbeat("n1", new NodeHeartbeat(NODE_IP, 4789, 1, "run-1", List.of(), List.of(), 30, 40));
        assertThat(registry.fleet().flows()).as("n2 fell silent: its figures no longer count").isEqualTo(30);
        assertThat(registry.fleet().nodes()).extracting(s -> s.node().name(), NodeRegistry.NodeShare::live, NodeRegistry.NodeShare::flowShare)
                .containsExactly(tuple("n1", true, 1.0), tuple("n2", false, 0.0));
    }

    @Test
    void shouldGiveEveryNodeNoShareWhileNoFlowIsOpen() {
        registry.heartbeat("n1", NODE_IP, 4789, 1, "run-1", List.of(), List.of());

        assertThat(registry.fleet().nodes()).extracting(NodeRegistry.NodeShare::flowShare).containsExactly(0.0);
    }

    /** A clock the test moves on by hand. */
    private static final class HandClock extends Clock {
        private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
