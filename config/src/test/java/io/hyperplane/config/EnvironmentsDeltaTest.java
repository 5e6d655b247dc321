package io.hyperplane.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EnvironmentsDeltaTest {
    private static final NodeSnapshot.ExecutionEnvironment A = ee("ee-a", 5001);
    private static final NodeSnapshot.ExecutionEnvironment B = ee("ee-b", 5002);
    private static final NodeSnapshot.ExecutionEnvironment C = ee("ee-c", 5003);

    private static NodeSnapshot.ExecutionEnvironment ee(String id, int vni) {
        return new NodeSnapshot.ExecutionEnvironment(id, vni, "198.18.0.2", "100.64.0." + (vni - 4990), "02:ee:00:00:00:" + (vni - 4990), "eni-1");
    }

    private static NodeSnapshot snapshot(long version, List<NodeSnapshot.ExecutionEnvironment> environments) {
        return new NodeSnapshot(version, NodeSnapshot.Gateway.DEFAULT, List.of(new NodeSnapshot.Vpc("vpc-1", "10.0.0.0/16")),
                List.of(new NodeSnapshot.Subnet("subnet-1", "vpc-1", "10.0.1.0/24", 100, "198.18.0.9", "acl-1", "rtb-1")),
                List.of(new NodeSnapshot.SecurityGroup("sg-1", List.of(), List.of())),
                List.of(new NodeSnapshot.NetworkAcl("acl-1", List.of())),
                List.of(new NodeSnapshot.RouteTable("rtb-1", List.of())),
                List.of(new NodeSnapshot.Eni("eni-1", "10.0.1.4", "02:00:00:00:00:01", "subnet-1", List.of("sg-1"))),
                environments);
    }

    @Test
    void shouldGiveTheSameSnapshotAsTheControlPlaneReadsFromItsStore() {
        NodeSnapshot base = snapshot(7, List.of(C, A));
        NodeSnapshot next = new EnvironmentsDelta(7, 8, List.of(B), List.of("ee-c")).applyTo(base);
        // what the store would give: ordered by VNI
        assertThat(next).isEqualTo(snapshot(8, List.of(A, B)));
    }

    @Test
    void shouldReplaceAnEnvironmentPutAgainAndIgnoreRemovingOneItDoesNotHave() {
        NodeSnapshot.ExecutionEnvironment moved = new NodeSnapshot.ExecutionEnvironment("ee-a", 5001, "198.18.0.3", "100.64.0.11", "02:ee:00:00:00:11", "eni-1");
        NodeSnapshot next = new EnvironmentsDelta(1, 2, List.of(moved), List.of("ee-gone")).applyTo(snapshot(1, List.of(A)));
        assertThat(next.executionEnvironments()).containsExactly(moved);
    }

    @Test
    void shouldRefuseADeltaForAnotherBaseOrOneThatBreaksTheSnapshot() {
        assertThatThrownBy(() -> new EnvironmentsDelta(3, 4, List.of(B), List.of()).applyTo(snapshot(2, List.of())))
                .hasMessageContaining("does not apply to version 2");
        NodeSnapshot.ExecutionEnvironment unknownEni = new NodeSnapshot.ExecutionEnvironment("ee-x", 6000, "198.18.0.2", "100.64.0.99",
                "02:ee:00:00:00:99", "eni-nope");
        assertThatThrownBy(() -> new EnvironmentsDelta(1, 2, List.of(unknownEni), List.of()).applyTo(snapshot(1, List.of())))
                .hasMessageContaining("eni-nope");
        assertThatThrownBy(() -> new EnvironmentsDelta(2, 2, List.of(), List.of())).hasMessageContaining("must grow");
    }

    @Test
    void shouldCarryEveryMessageThroughItsJson() {
        EnvironmentsDelta delta = new EnvironmentsDelta(1, 2, List.of(A), List.of("ee-b"));
        assertThat(ConfigStreamMessage.parse(ConfigStreamMessage.environments(delta))).isEqualTo(new ConfigStreamMessage.Environments(delta));
        NodeSnapshot snapshot = snapshot(9, List.of(A));
        assertThat(ConfigStreamMessage.parse(ConfigStreamMessage.snapshot(SnapshotJson.write(snapshot))))
                .isEqualTo(new ConfigStreamMessage.Snapshot(snapshot));
        assertThat(ConfigStreamMessage.parse(ConfigStreamMessage.applied(42))).isEqualTo(new ConfigStreamMessage.Applied(42));
    }

    @Test
    void shouldRejectMalformedMessagesWithAReason() {
        assertThatThrownBy(() -> ConfigStreamMessage.parse("[1]")).hasMessageContaining("expected a JSON object");
        assertThatThrownBy(() -> ConfigStreamMessage.parse("{\"type\":\"bogus\"}")).hasMessageContaining("unknown message type 'bogus'");
        assertThatThrownBy(() -> ConfigStreamMessage.parse("{\"type\":\"applied\"}")).hasMessageContaining("without a version");
        assertThatThrownBy(() -> ConfigStreamMessage.parse("{\"type\":\"environments\",\"base\":1,\"version\":2,\"put\":[{\"id\":\"x\",\"vni\":0}]}"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ConfigStreamMessage.parse("{not json")).isInstanceOf(IllegalArgumentException.class);
    }
}
