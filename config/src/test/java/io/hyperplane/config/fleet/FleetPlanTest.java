package io.hyperplane.config.fleet;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FleetPlanTest {

    private static FleetPlan.Candidate candidate(int index, boolean inService) {
        return new FleetPlan.Candidate(index, "node" + index, "198.18.0." + index, inService);
    }

    @Test
    void shouldDealEveryBlockToExactlyOneMemberEvenly() {
        FleetPlan plan = FleetPlan.of(1, List.of(candidate(3, true), candidate(1, true), candidate(2, true)));

        assertThat(plan.members()).extracting(FleetPlan.Member::index).containsExactly(1, 2, 3);
        for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
            int block = b;
            assertThat(plan.members().stream().filter(m -> m.owns(block)).count()).as("owners of block %d", b).isEqualTo(1);
        }
        assertThat(plan.members()).extracting(m -> Integer.bitCount(m.blocks())).containsExactly(6, 5, 5);
    }

    @Test
    void shouldGiveEachMemberTheNextMemberInServiceAsItsBackup() {
        FleetPlan plan = FleetPlan.of(1, List.of(candidate(1, true), candidate(2, false), candidate(3, true)));

        assertThat(plan.member(1).backup()).isEqualTo(3); // 2 is not in service: skipped
        assertThat(plan.member(2).backup()).isEqualTo(3);
        assertThat(plan.member(3).backup()).isEqualTo(1); // wraps around
    }

    @Test
    void shouldKeepBlocksWithAMemberThatIsAwaySoNoOtherNodesTrafficMoves() {
        FleetPlan all = FleetPlan.of(1, List.of(candidate(1, true), candidate(2, true), candidate(3, true)));
        FleetPlan twoAway = FleetPlan.of(2, List.of(candidate(1, true), candidate(2, false), candidate(3, true)));

        for (int i = 1; i <= 3; i++) {
            assertThat(twoAway.member(i).blocks()).isEqualTo(all.member(i).blocks());
        }
    }

    @Test
    void shouldLeaveALoneMemberWithoutBackupAndOwningEverything() {
        FleetPlan plan = FleetPlan.of(1, List.of(candidate(1, true)));

        assertThat(plan.member(1).backup()).isEqualTo(FleetPlan.NO_BACKUP);
        assertThat(plan.member(1).blocks()).isEqualTo(0xFFFF);
        assertThat(FleetPlan.empty(0).members()).isEmpty();
    }

    @Test
    void shouldMapPortsToBlocksAndBack() {
        assertThat(FleetPlan.blockOf(1023)).isEqualTo(-1);
        assertThat(FleetPlan.blockOf(1024)).isZero();
        assertThat(FleetPlan.blockOf(1024 + FleetPlan.BLOCK_PORTS - 1)).isZero();
        assertThat(FleetPlan.blockOf(1024 + FleetPlan.BLOCK_PORTS)).isEqualTo(1);
        assertThat(FleetPlan.blockOf(65_535)).isEqualTo(FleetPlan.PORT_BLOCKS - 1);
        assertThat(FleetPlan.firstPortOf(FleetPlan.PORT_BLOCKS - 1) + FleetPlan.BLOCK_PORTS - 1).isEqualTo(65_535);
        assertThat(FleetPlan.BLOCK_PORTS % 64).isZero();
    }

    @Test
    void shouldRefuseAPlanThatBreaksItsRules() {
        FleetPlan.Member one = new FleetPlan.Member(1, "node1", "198.18.0.1", true, 2, 0x00FF);
        FleetPlan.Member two = new FleetPlan.Member(2, "node2", "198.18.0.2", true, 1, 0xFF00);

        assertThat(new FleetPlan(1, FleetPlan.ANYCAST, List.of(one, two)).owner(9)).isEqualTo(two);
        assertThatThrownBy(() -> new FleetPlan(1, FleetPlan.ANYCAST, List.of(two, one)))
                .hasMessageContaining("ascending index order");
        assertThatThrownBy(() -> new FleetPlan(1, FleetPlan.ANYCAST, List.of(one, new FleetPlan.Member(2, "node2", "198.18.0.2", true, 1, 0x7F00))))
                .hasMessageContaining("every port block needs an owner");
        assertThatThrownBy(() -> new FleetPlan(1, FleetPlan.ANYCAST, List.of(one, new FleetPlan.Member(2, "node2", "198.18.0.2", true, 1, 0xFF01))))
                .hasMessageContaining("owns a block another member owns");
        assertThatThrownBy(() -> new FleetPlan(1, FleetPlan.ANYCAST, List.of(new FleetPlan.Member(1, "node1", "198.18.0.1", true, 5, 0xFFFF))))
                .hasMessageContaining("backup 5 of member 1 is not a member");
        assertThatThrownBy(() -> new FleetPlan.Member(1, "node1", "10.0.0.1", true, 0, 0xFFFF)).hasMessageContaining("not in the underlay");
        assertThatThrownBy(() -> new FleetPlan.Member(1, "node1", "198.18.0.1", true, 1, 0xFFFF)).hasMessageContaining("another member's index");
        assertThatThrownBy(() -> new FleetPlan.Member(17, "node1", "198.18.0.1", true, 0, 0xFFFF)).hasMessageContaining("must be 1..16");
    }

    @Test
    void shouldCrossTheWireUnchanged() {
        FleetPlan plan = FleetPlan.of(7, List.of(candidate(1, true), candidate(2, false)));

        assertThat(FleetJson.decode(FleetJson.encode(plan), FleetPlan.class)).isEqualTo(plan);
    }
}
