package io.hyperplane.config;

import io.hyperplane.config.NodeSnapshot.Eni;
import io.hyperplane.config.NodeSnapshot.NetworkAcl;
import io.hyperplane.config.NodeSnapshot.RouteTable;
import io.hyperplane.config.NodeSnapshot.Subnet;
import io.hyperplane.config.NodeSnapshot.Vpc;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NodeSnapshotTest {

    private static NodeSnapshot snapshot(List<Vpc> vpcs, List<Subnet> subnets, List<Eni> enis) {
        return new NodeSnapshot(1, NodeSnapshot.Gateway.DEFAULT, vpcs, subnets, List.of(),
                List.of(new NetworkAcl("acl-1", List.of())), List.of(new RouteTable("rtb-1", List.of())), enis, List.of());
    }

    private static Subnet subnet(String id, String vpc, String cidr, int vni) {
        return new Subnet(id, vpc, cidr, vni, "198.19.0." + vni % 200, "acl-1", "rtb-1");
    }

    @Test
    void shouldAcceptTheSameCidrsAndEniAddressInManyVpcs() {
        NodeSnapshot s = snapshot(
                List.of(new Vpc("vpc-a", "10.0.0.0/16"), new Vpc("vpc-b", "10.0.0.0/16"), new Vpc("vpc-c", "10.0.0.0/16")),
                List.of(subnet("subnet-a", "vpc-a", "10.0.1.0/24", 11), subnet("subnet-b", "vpc-b", "10.0.1.0/24", 12),
                        subnet("subnet-c", "vpc-c", "10.0.1.0/24", 13)),
                List.of(new Eni("eni-a", "10.0.1.4", "02:00:00:00:00:0a", "subnet-a", List.of()),
                        new Eni("eni-b", "10.0.1.4", "02:00:00:00:00:0b", "subnet-b", List.of()),
                        new Eni("eni-c", "10.0.1.4", "02:00:00:00:00:0c", "subnet-c", List.of())));
        assertThat(s.enis()).hasSize(3);
    }

    @Test
    void shouldRefuseOneAddressForTwoEnisWithinOneVpc() {
        assertThatThrownBy(() -> snapshot(List.of(new Vpc("vpc-a", "10.0.0.0/16")),
                List.of(subnet("subnet-a", "vpc-a", "10.0.1.0/24", 11)),
                List.of(new Eni("eni-a", "10.0.1.4", "02:00:00:00:00:0a", "subnet-a", List.of()),
                        new Eni("eni-b", "10.0.1.4", "02:00:00:00:00:0b", "subnet-a", List.of()))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("eni eni-b: ip 10.0.1.4 is used by another eni in vpc vpc-a");
    }

    @Test
    void shouldRefuseOverlappingSubnetsWithinOneVpcAndTheSameVniTwice() {
        assertThatThrownBy(() -> snapshot(List.of(new Vpc("vpc-a", "10.0.0.0/16")),
                List.of(subnet("subnet-a", "vpc-a", "10.0.1.0/24", 11), subnet("subnet-b", "vpc-a", "10.0.1.128/25", 12)), List.of()))
                .hasMessage("subnet subnet-b: cidr 10.0.1.128/25 overlaps subnet subnet-a 10.0.1.0/24 in vpc vpc-a");
        assertThatThrownBy(() -> snapshot(List.of(new Vpc("vpc-a", "10.0.0.0/16"), new Vpc("vpc-b", "10.0.0.0/16")),
                List.of(subnet("subnet-a", "vpc-a", "10.0.1.0/24", 11), subnet("subnet-b", "vpc-b", "10.0.1.0/24", 11)), List.of()))
                .hasMessage("subnet subnet-b: vni 11 is used twice");
    }
}
