package io.hyperplane.control.ec2;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NatGatewayStateTest {
    @Test
    void shouldMoveAlongEc2sLifecycleOnly() {
        assertThat(NatGatewayState.PENDING.moveTo(NatGatewayState.AVAILABLE, "nat-1")).isEqualTo(NatGatewayState.AVAILABLE);
        assertThat(NatGatewayState.PENDING.moveTo(NatGatewayState.FAILED, "nat-1")).isEqualTo(NatGatewayState.FAILED);
        assertThat(NatGatewayState.AVAILABLE.moveTo(NatGatewayState.DELETING, "nat-1")).isEqualTo(NatGatewayState.DELETING);
        assertThat(NatGatewayState.DELETING.moveTo(NatGatewayState.DELETED, "nat-1")).isEqualTo(NatGatewayState.DELETED);
        assertThat(NatGatewayState.FAILED.moveTo(NatGatewayState.DELETED, "nat-1")).isEqualTo(NatGatewayState.DELETED);

        assertThatThrownBy(() -> NatGatewayState.DELETED.moveTo(NatGatewayState.AVAILABLE, "nat-1"))
                .isInstanceOf(IllegalStateException.class).hasMessage("NAT gateway nat-1: cannot move from deleted to available");
        assertThatThrownBy(() -> NatGatewayState.AVAILABLE.moveTo(NatGatewayState.PENDING, "nat-1")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> NatGatewayState.DELETING.moveTo(NatGatewayState.AVAILABLE, "nat-1")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldReadWhatTheStoreHoldsAndRefuseAnythingElse() {
        for (NatGatewayState s : NatGatewayState.values()) {
            assertThat(NatGatewayState.ofStored(s.stored())).isEqualTo(s);
        }
        assertThatThrownBy(() -> NatGatewayState.ofStored("gone")).isInstanceOf(IllegalArgumentException.class);
        assertThat(NatGatewayState.PENDING.published()).isTrue();
        assertThat(NatGatewayState.DELETING.published()).as("nodes let go of it while it is deleting").isFalse();
    }
}
