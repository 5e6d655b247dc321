package io.hyperplane.control.fleet;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.control.fabric.ForwarderNodes;
import io.hyperplane.control.store.Database;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The fleet's plan on a real store (the V15 migration's {@code fleet_index}): run on embedded H2
 * ({@link FleetPlannerH2Test}) and PostgreSQL ({@link FleetPlannerPostgresTest}). Indexes are kept
 * by name across a control plane's restart, the lowest free one is given, a 17th node is refused,
 * in service means live, applied and ready, and the version grows with every change.
 */
@Timeout(60)
abstract class FleetPlannerContract {
    private static final Duration LIVENESS = Duration.ofSeconds(3);
    private Database db;
    private Instant now = Instant.parse("2026-12-07T12:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };
    private NodeRegistry registry;
    private FleetPlanner planner;

    /** A fresh, migrated store. */
    abstract Database open() throws Exception;

    @BeforeEach
    void start() throws Exception {
        db = open();
        restart();
    }

    @AfterEach
    void stop() {
        db.close();
    }

    /** A new control plane process on the same store: nothing in memory. */
    private void restart() {
        ForwarderNodes registered = new ForwarderNodes(db, () -> { });
        registry = new NodeRegistry(registered, LIVENESS, clock);
        planner = new FleetPlanner(registry, registered, clock);
    }

    private void beat(String name, String ip, long applied, boolean ready) {
        registry.heartbeat(name, new NodeHeartbeat(ip, 4789, applied, "run-1", List.of(), List.of(), 0, 0, "", 0, ready));
    }

    private void beat(String name, String ip, String incarnation, boolean ready, String syncedTo) {
        beat(name, ip, incarnation, ready, syncedTo, "");
    }

    /** A heartbeat whose node copied every flow to {@code syncedTo}, whose process acknowledged as {@code syncedToIncarnation}. */
    private void beat(String name, String ip, String incarnation, boolean ready, String syncedTo, String syncedToIncarnation) {
        registry.heartbeat(name, new NodeHeartbeat(ip, 4789, 1, incarnation, List.of(), List.of(), 0, 0, "", 0, ready, syncedTo, 2,
                syncedToIncarnation));
    }

    /** n1..n3 in service, then n1 silent past the liveness: n2, its backup, carries its flows. */
    private void thirdNodeDiesCoveredBySecond() {
        beat("n1", "198.18.0.11", 1, true);
        beat("n2", "198.18.0.12", 1, true);
        beat("n3", "198.18.0.13", 1, true);
        assertThat(planner.plan().member(1).backup()).isEqualTo(2);
        now = now.plus(LIVENESS).plusSeconds(1);
        beat("n2", "198.18.0.12", 1, true);
        beat("n3", "198.18.0.13", 1, true);
        assertThat(planner.plan().member(1).inService()).isFalse();
    }

    @Test
    void shouldKeepAReturningNodeOutOfServiceUntilTheNodeThatCoveredForItHandsItsFlowsBack() {
        thirdNodeDiesCoveredBySecond();
        now = now.plusSeconds(1);
        beat("n1", "198.18.0.11", "run-2", true, ""); // restarted: ready, but empty
        FleetPlan returning = planner.plan();
        assertThat(returning.member(1).inService()).as("its flows are still on n2").isFalse();
        assertThat(returning.member(2).backup()).as("n2 copies every flow it holds to n1").isEqualTo(1);
        assertThat(returning.member(1).backup()).as("senders still send n1's traffic to n2").isEqualTo(2);

        now = now.plusSeconds(1);
        beat("n2", "198.18.0.12", "run-1", true, "198.18.0.13"); // a copy to its old backup says nothing of n1
        beat("n1", "198.18.0.11", "run-2", true, "");
        assertThat(planner.plan().member(1).inService()).isFalse();

        beat("n2", "198.18.0.12", "run-1", true, "198.18.0.11", "run-1");
        assertThat(planner.plan().member(1).inService()).as("a copy to n1's run before its restart is no copy").isFalse();

        beat("n2", "198.18.0.12", "run-1", true, "198.18.0.11", "run-2");
        FleetPlan back = planner.plan();
        assertThat(back.member(1).inService()).as("handed back").isTrue();
        assertThat(back.member(2).backup()).as("n2 backs up to n3 again, as FleetPlan.of has it").isEqualTo(3);
        assertThat(back.version()).isGreaterThan(returning.version());
    }

    /**
     * A member restarts in place faster than the liveness window: its heartbeats never stop, but
     * come from another incarnation. It has lost its flows as surely as a dead one: it leaves
     * service and returns through the hand-back.
     */
    @Test
    void shouldTakeAMemberThatRestartedInPlaceThroughTheHandBack() {
        beat("n1", "198.18.0.11", "run-1", true, "");
        beat("n2", "198.18.0.12", "run-1", true, "");
        beat("n3", "198.18.0.13", "run-1", true, "");
        FleetPlan before = planner.plan();
        assertThat(before.member(1).inService()).isTrue();

        now = now.plusSeconds(1);
        beat("n1", "198.18.0.11", "run-2", true, ""); // a new process, configured and ready at once
        FleetPlan returning = planner.plan();
        assertThat(returning.member(1).inService()).as("its flows are on n2 now").isFalse();
        assertThat(returning.member(2).backup()).as("n2 copies every flow it holds to n1").isEqualTo(1);

        now = now.plusSeconds(1);
        beat("n2", "198.18.0.12", "run-1", true, "198.18.0.11", "run-1");
        assertThat(planner.plan().member(1).inService()).as("n2's copy went to n1's run before the restart").isFalse();
        beat("n2", "198.18.0.12", "run-1", true, "198.18.0.11", "run-2");
        assertThat(planner.plan().member(1).inService()).as("handed back").isTrue();
        beat("n1", "198.18.0.11", "run-2", true, "");
        assertThat(planner.plan().member(1).inService()).as("the same process since: stays in service").isTrue();
    }

    @Test
    void shouldPutAReturningNodeBackWithoutItsFlowsWhenItsCoverIsGoneOrTooSlow() {
        thirdNodeDiesCoveredBySecond();
        beat("n1", "198.18.0.11", "run-2", true, "");
        assertThat(planner.plan().member(1).inService()).isFalse();
        now = now.plus(FleetPlanner.HAND_BACK_LIMIT).plusSeconds(1);
        beat("n1", "198.18.0.11", "run-2", true, "");
        beat("n2", "198.18.0.12", "run-1", true, "");
        beat("n3", "198.18.0.13", "run-1", true, "");
        assertThat(planner.plan().member(1).inService()).as("never handed back: in service all the same").isTrue();

        now = now.plus(LIVENESS).plusSeconds(1); // n1 dies again, covered by n2; then n2 dies too
        beat("n2", "198.18.0.12", "run-1", true, "");
        beat("n3", "198.18.0.13", "run-1", true, "");
        assertThat(planner.plan().member(1).inService()).isFalse();
        now = now.plus(LIVENESS).plusSeconds(1);
        beat("n3", "198.18.0.13", "run-1", true, "");
        beat("n1", "198.18.0.11", "run-3", true, "");
        assertThat(planner.plan().member(1).inService()).as("its cover is gone: nothing to wait for").isTrue();
    }

    @Test
    void shouldKeepEachNodesIndexByNameAcrossARestartAndPlanBlocksAndBackupsAsFleetPlanOf() {
        beat("n1", "198.18.0.11", 1, true);
        beat("n2", "198.18.0.12", 1, true);
        beat("n3", "198.18.0.13", 1, true);
        FleetPlan first = planner.plan();
        assertThat(first).isEqualTo(FleetPlan.of(first.version(), List.of(new FleetPlan.Candidate(1, "n1", "198.18.0.11", true),
                new FleetPlan.Candidate(2, "n2", "198.18.0.12", true), new FleetPlan.Candidate(3, "n3", "198.18.0.13", true))));
        assertThat(planner.plan()).as("nothing changed: the same version").isSameAs(first);

        restart();
        now = now.plusSeconds(1);
        beat("n3", "198.18.0.13", 1, true); // the first heard after the restart keeps its index
        FleetPlan after = planner.plan();
        assertThat(after.members()).extracting(FleetPlan.Member::index, FleetPlan.Member::name, FleetPlan.Member::inService)
                .containsExactly(tuple(1, "n1", false), tuple(2, "n2", false),
                        tuple(3, "n3", true));
        assertThat(after.member(1).backup()).as("the not-yet-heard are covered by the one in service").isEqualTo(3);

        registry.remove("n2"); // left cleanly: its index is free for the next newcomer
        beat("n4", "198.18.0.14", 1, true);
        assertThat(planner.plan().member(2).name()).isEqualTo("n4");
    }

    @Test
    void shouldPutANodeInServiceOnlyWhenLiveAppliedAndReadyAndGrowTheVersionWithEveryChange() {
        beat("n1", "198.18.0.11", NodeHeartbeat.NO_VERSION, true);
        beat("n2", "198.18.0.12", 1, true);
        FleetPlan v1 = planner.plan();
        assertThat(v1.member(1).inService()).as("runs no configuration yet").isFalse();
        assertThat(v1.member(2).backup()).as("no other member in service").isEqualTo(FleetPlan.NO_BACKUP);

        beat("n1", "198.18.0.11", 1, false);
        FleetPlan v2 = planner.plan();
        assertThat(v2.member(1).inService()).as("resynchronising").isFalse();

        beat("n1", "198.18.0.11", 1, true);
        FleetPlan v3 = planner.plan();
        assertThat(v3.member(1).inService()).isTrue();
        assertThat(v3.member(2).backup()).isEqualTo(1);
        assertThat(v3.version()).isGreaterThan(v1.version());

        now = now.plus(LIVENESS).plusSeconds(1);
        beat("n2", "198.18.0.12", 1, true);
        FleetPlan v4 = planner.plan();
        assertThat(v4.member(1).inService()).as("silent past the liveness").isFalse();
        assertThat(v4.member(1).blocks()).as("its blocks stay its own while away").isEqualTo(v3.member(1).blocks());
        assertThat(v4.version()).isGreaterThan(v3.version());
    }

    /** A flow's copy is applied on the sender's thread: a member that steers otherwise would hold copies its packets never reach. */
    @Test
    void shouldKeepANodeWithAnotherThreadCountOutOfService() {
        registry.heartbeat("n1", new NodeHeartbeat("198.18.0.11", 4789, 1, "run-1", List.of(), List.of(), 0, 0, "", 0, true, "", 2));
        registry.heartbeat("n2", new NodeHeartbeat("198.18.0.12", 4789, 1, "run-1", List.of(), List.of(), 0, 0, "", 0, true, "", 4));
        registry.heartbeat("n3", new NodeHeartbeat("198.18.0.13", 4789, 1, "run-1", List.of(), List.of(), 0, 0, "", 0, true, "", 2));
        FleetPlan plan = planner.plan();
        assertThat(plan.members()).extracting(FleetPlan.Member::name, FleetPlan.Member::inService)
                .containsExactly(tuple("n1", true), tuple("n2", false), tuple("n3", true));

        registry.heartbeat("n2", new NodeHeartbeat("198.18.0.12", 4789, 1, "run-2", List.of(), List.of(), 0, 0, "", 0, true, "", 2));
        assertThat(planner.plan().member(2).inService()).as("restarted with the fleet's count").isTrue();
    }

    @Test
    void shouldRefuseASeventeenthNodeWithAFleetError() {
        for (int i = 1; i <= FleetPlan.PORT_BLOCKS; i++) {
            beat("n" + i, "198.18.0." + (10 + i), 1, true);
        }
        assertThatThrownBy(() -> beat("n17", "198.18.0.27", 1, true)).isInstanceOf(ForwarderNodes.FleetFullException.class)
                .hasMessageContaining("the fleet is full: 16 nodes are registered");
        assertThat(registry.all()).noneMatch(n -> n.name().equals("n17"));
        assertThat(planner.plan().members()).hasSize(FleetPlan.PORT_BLOCKS);
    }
}
