package io.hyperplane.lab.spec;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.ServiceEgressNetwork;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.lab.TestLabs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

@Timeout(10)
class LabSpecTest {
    private static final String SMALL = TestLabs.SMALL.formatted("hp-s-");

    @Test
    void shouldDescribeTheDefaultLab() {
        LabSpec spec = LabSpecYaml.defaultSpec();

        assertThat(spec.prefix()).isEqualTo("hp-");
        assertThat(spec.underlay()).isEqualTo(new LabSpec.Underlay("198.18.0.0/15", 1600, 4789));
        assertThat(spec.namespaces()).containsExactly("hp-underlay", "hp-node1", "hp-host1", "hp-ee1", "hp-ee2", "hp-ee3", "hp-ee4",
                "hp-vpc1", "hp-res1", "hp-res2", "hp-internet", "hp-inet-host");
        assertThat(spec.internet()).isTrue();
        assertThat(spec.nodes()).containsExactly(new LabSpec.Node("node1", "198.18.0.1"));
        assertThat(spec.hosts().getFirst().executionEnvironments())
                .extracting(LabSpec.Ee::name, LabSpec.Ee::ip, LabSpec.Ee::vni, LabSpec.Ee::mac, LabSpec.Ee::eni)
                .containsExactly(tuple("ee1", "100.64.0.11", 5001, "02:ee:00:00:00:01", "eni-1"),
                        tuple("ee2", "100.64.0.12", 5002, "02:ee:00:00:00:02", "eni-1"),
                        tuple("ee3", "100.64.0.13", 5003, "02:ee:00:00:00:03", "eni-1"),
                        tuple("ee4", "100.64.0.14", 5004, "02:ee:00:00:00:04", "eni-hyperplane-egress"));
        LabSpec.Vpc vpc = spec.vpcs().getFirst();
        assertThat(vpc.router()).isEqualTo(new LabSpec.Router("vpc1", "198.18.0.21", "node1"));
        assertThat(vpc.subnets()).extracting(LabSpec.Subnet::id, LabSpec.Subnet::cidr, LabSpec.Subnet::vni, LabSpec.Subnet::gateway)
                .containsExactly(tuple("subnet-1", "10.0.1.0/24", 1001, "10.0.1.1"), tuple("subnet-2", "10.0.2.0/24", 1002, "10.0.2.1"));
        assertThat(vpc.enis()).containsExactly(new LabSpec.Eni("eni-1", "subnet-1", "10.0.1.4", "02:48:50:00:01:04", List.of("sg-lambda")));
        assertThat(vpc.resources()).extracting(LabSpec.Resource::name, LabSpec.Resource::ip)
                .containsExactly(tuple("res1", "10.0.1.10"), tuple("res2", "10.0.2.10"));
        assertThat(vpc.resources().getFirst().services()).containsExactly(
                new LabSpec.Service("tcp", 5432, "echo"), new LabSpec.Service("tcp", 7, "echo"),
                new LabSpec.Service("udp", 53, "echo"), new LabSpec.Service("tcp", 80, "http"));
    }

    @Test
    void shouldAddNodesOnTheNextFreeUnderlayAddressesAndNamespaces() {
        LabSpec spec = LabSpecYaml.defaultSpec();

        LabSpec fleet = spec.withNodes(3);

        assertThat(fleet.nodes()).containsExactly(new LabSpec.Node("node1", "198.18.0.1"), new LabSpec.Node("node2", "198.18.0.2"),
                new LabSpec.Node("node3", "198.18.0.3"));
        assertThat(fleet.namespaces()).containsSubsequence("hp-underlay", "hp-node1", "hp-node2", "hp-node3", "hp-host1");
        assertThat(fleet.withNodes(1).nodes()).containsExactly(new LabSpec.Node("node1", "198.18.0.1"));
        assertThat(spec.withNodes(LabSpec.MAX_NODES).nodes()).hasSize(LabSpec.MAX_NODES).extracting(LabSpec.Node::underlayIp)
                .doesNotHaveDuplicates().doesNotContain("198.18.0.11", "198.18.0.21");
    }

    @Test
    void shouldSkipAddressesOthersUseWhenAddingNodes() {
        LabSpec spec = LabSpecYaml.parse(SMALL.replace("underlayIp: 198.18.0.11", "underlayIp: 198.18.0.2"), "small lab");

        assertThat(spec.withNodes(3).nodes()).extracting(LabSpec.Node::underlayIp).containsExactly("198.18.0.1", "198.18.0.3", "198.18.0.4");
    }

    @ParameterizedTest
    @CsvSource({"0", "9", "-1"})
    void shouldRefuseANodeCountOutsideOneToTheMaximum(int count) {
        assertThatThrownBy(() -> LabSpecYaml.defaultSpec().withNodes(count)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("nodes " + count + ": must be 1..8 (each node is a process of its own on this machine)");
    }

    @Test
    void shouldRefuseToLeaveOutANodeAHostTunnelsTo() {
        LabSpec spec = LabSpecYaml.defaultSpec().withNodes(2);
        LabSpec pinned = new LabSpec(spec.prefix(), spec.underlay(), spec.eeNetwork(), spec.internet(), spec.nodes(),
                List.of(new LabSpec.Host("host1", "198.18.0.11", "node2", List.of())), List.of());

        assertThatThrownBy(() -> pinned.withNodes(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("nodes 1: host host1 tunnels to node node2, which would be left out");
    }

    @Test
    void shouldReadBackWhatItWrites() {
        LabSpec spec = LabSpecYaml.defaultSpec().withPrefix("hp-x-");

        assertThat(LabSpecYaml.parse(LabSpecYaml.write(spec), "written")).isEqualTo(spec);
    }

    @Test
    void shouldFillDefaultsForOmittedValues() {
        LabSpec spec = LabSpecYaml.parse(SMALL, "small");

        LabSpec.Vpc vpc = spec.vpcs().getFirst();
        assertThat(spec.underlay().mtu()).isEqualTo(1600);
        assertThat(spec.hosts().getFirst().executionEnvironments().getFirst().mac()).isEqualTo("02:ee:64:40:00:0b");
        assertThat(vpc.enis().getFirst().mac()).isEqualTo("02:48:50:00:01:04");
        assertThat(vpc.networkAclOf(vpc.subnets().getFirst())).isEqualTo("acl-1");
        assertThat(vpc.routeTableOf(vpc.subnets().getFirst())).isEqualTo("rtb-1");
        assertThat(spec.node(null).name()).isEqualTo("node1");
    }

    @Test
    void shouldTurnTheDefaultLabIntoAValidNodeSnapshot() {
        NodeSnapshot snapshot = SnapshotFactory.snapshot(LabSpecYaml.defaultSpec());

        assertThat(SnapshotJson.parse(SnapshotJson.write(snapshot))).isEqualTo(snapshot);
        assertThat(snapshot.eeGateway()).isEqualTo(new NodeSnapshot.Gateway("100.64.0.1", "02:48:50:00:00:01"));
        assertThat(snapshot.subnets()).containsExactly(ServiceEgressNetwork.SUBNET,
                new NodeSnapshot.Subnet("subnet-1", "vpc-1", "10.0.1.0/24", 1001, "198.18.0.21", "acl-1", "rtb-1"),
                new NodeSnapshot.Subnet("subnet-2", "vpc-1", "10.0.2.0/24", 1002, "198.18.0.21", "acl-1", "rtb-1"));
        assertThat(snapshot.vpcs().getFirst()).isEqualTo(ServiceEgressNetwork.VPC);
        assertThat(snapshot.securityGroups().getFirst()).isEqualTo(ServiceEgressNetwork.GROUP);
        assertThat(snapshot.networkAcls().getFirst()).isEqualTo(ServiceEgressNetwork.ACL);
        assertThat(snapshot.enis()).containsExactly(ServiceEgressNetwork.ENI,
                new NodeSnapshot.Eni("eni-1", "10.0.1.4", "02:48:50:00:01:04", "subnet-1", List.of("sg-lambda")));
        assertThat(snapshot.securityGroups().get(1).egress()).containsExactly(
                new NodeSnapshot.SecurityGroupRule("tcp", 80, 80, "10.0.0.0/16", null),
                new NodeSnapshot.SecurityGroupRule("tcp", 5432, 5432, "10.0.0.0/16", null),
                new NodeSnapshot.SecurityGroupRule("udp", 53, 53, "10.0.0.0/16", null),
                new NodeSnapshot.SecurityGroupRule("icmp", -1, -1, "10.0.0.0/16", null));
        assertThat(snapshot.securityGroups().get(1).members()).containsExactly("10.0.1.4");
        assertThat(snapshot.networkAcls().get(1).entries()).containsExactly(
                new NodeSnapshot.NetworkAclEntry(100, true, "-1", "allow", "0.0.0.0/0", 0, 65535, -1, -1),
                new NodeSnapshot.NetworkAclEntry(100, false, "-1", "allow", "0.0.0.0/0", 0, 65535, -1, -1));
        assertThat(snapshot.routeTables()).containsExactly(ServiceEgressNetwork.ROUTES,
                new NodeSnapshot.RouteTable("rtb-1", List.of(new NodeSnapshot.Route("10.0.0.0/16", "local"))));
        assertThat(snapshot.executionEnvironments()).extracting(NodeSnapshot.ExecutionEnvironment::id, NodeSnapshot.ExecutionEnvironment::vni,
                        NodeSnapshot.ExecutionEnvironment::host, NodeSnapshot.ExecutionEnvironment::eniId)
                .containsExactly(tuple("ee1", 5001, "198.18.0.11", "eni-1"), tuple("ee2", 5002, "198.18.0.11", "eni-1"),
                        tuple("ee3", 5003, "198.18.0.11", "eni-1"), tuple("ee4", 5004, "198.18.0.11", "eni-hyperplane-egress"));
    }

    @Test
    void shouldLeaveTheInternetOutOfALabThatDoesNotAskForIt() {
        LabSpec spec = LabSpecYaml.parse(SMALL, "small");

        assertThat(spec.internet()).isFalse();
        assertThat(spec.namespaces()).noneMatch(ns -> ns.contains("inet"));
        assertThat(SnapshotFactory.snapshot(spec).enis()).extracting(NodeSnapshot.Eni::id).containsExactly("eni-1");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            subnet outside the vpc     | cidr: 10.0.2.0/24, vni: 1002         | cidr: 10.9.2.0/24, vni: 1002         | subnet subnet-2: cidr 10.9.2.0/24 is outside vpc vpc-1 10.0.0.0/16
            duplicate vni              | vni: 1002                            | vni: 1001                            | subnet subnet-2: vni 1001 is already used by subnet subnet-1
            vni shared with an ee      | vni: 5003                            | vni: 1001                            | execution environment ee3: vni 1001 is already used by subnet subnet-1
            malformed cidr             | cidr: 10.0.0.0/16                    | cidr: 10.0.0.0/33                    | vpc vpc-1: cidr '10.0.0.0/33': prefix length must be 0..32
            cidr with host bits        | cidr: 10.0.1.0/24, vni: 1001         | cidr: 10.0.1.5/24, vni: 1001         | subnet subnet-1: cidr 10.0.1.5/24: host bits are set
            eni on a reserved address  | ip: 10.0.1.4                         | ip: 10.0.1.3                         | eni eni-1: ip 10.0.1.3 is reserved in subnet subnet-1
            eni outside its subnet     | ip: 10.0.1.4                         | ip: 10.0.2.4                         | eni eni-1: ip 10.0.2.4 is outside subnet subnet-1 10.0.1.0/24
            unknown eni                | vni: 5002, mac: "02:ee:00:00:00:02", eni: eni-1 | vni: 5002, mac: "02:ee:00:00:00:02", eni: eni-9 | execution environment ee2: eni eni-9 is not defined in any vpc
            duplicate name             | name: ee3                            | name: ee2                            | execution environment ee2: name is used twice
            underlay address twice     | underlayIp: 198.18.0.21              | underlayIp: 198.18.0.11              | underlayIp 198.18.0.11 is already used by host host1
            underlay mtu too small     | mtu: 1600                            | mtu: 1500                            | underlay mtu 1500: must be 1550..9000
            bad mac                    | "02:48:50:00:01:04"                  | "02:48:50:00:01"                     | eni eni-1 mac: MAC address '02:48:50:00:01': expected six colon-separated hex octets
            multicast mac              | mac: "02:ee:00:00:00:01"             | mac: "03:ee:00:00:00:01"             | execution environment ee1 mac: 03:ee:00:00:00:01 is a group address
            bad protocol               | protocol: udp, ports: "53"           | protocol: sctpx, ports: "53"         | security group rule sctpx 53: protocol 'sctpx': must be tcp, udp, icmp, -1 or a number
            bad ports                  | ports: "5432"                        | ports: "5432-80"                     | ports 5432-80 must satisfy 0 <= from <= to <= 65535
            unknown acl                | networkAcl: acl-1, routeTable: rtb-1 }\\n      - { id: subnet-2 | networkAcl: acl-7, routeTable: rtb-1 }\\n      - { id: subnet-2 | subnet subnet-1: networkAcl acl-7 is not defined in vpc vpc-1
            unknown key                | gateway: 100.64.0.1                  | gateway: 100.64.0.1\\n  color: blue    | unknown key 'color'
            prefix too long            | prefix: hp-                          | prefix: hyperplane-                  | prefix 'hyperplane-': must be 1..8 characters
            service kind               | port: 80, kind: http                 | port: 80, kind: gopher               | service gopher tcp 80: kind must be echo or http
            service egress, no internet | internet: true                      | internet: false                      | execution environment ee4: eni eni-hyperplane-egress is the service egress, which needs internet: true
            the service egress's vni   | vni: 1002                            | vni: 1000                            | subnet subnet-2: vni 1000 is already used by the service egress subnet
            the internet router's vtep | underlayIp: 198.18.0.21              | underlayIp: 198.18.255.254           | underlayIp 198.18.255.254 is already used by the internet router
            internet off the vxlan port | vxlanPort: 4789                     | vxlanPort: 8472                      | underlay vxlanPort 8472: the internet's tunnel uses 4789
            the internet's name        | name: res2                           | name: internet                       | resource internet: name is used twice
            """)
    void shouldRejectABadValueNamingIt(String what, String original, String replacement, String message) {
        String yaml = defaultYaml();
        String find = original.replace("\\n", "\n");
        assertThat(yaml).as("fixture for '%s'", what).contains(find);
        String broken = yaml.replaceFirst(Pattern.quote(find), Matcher.quoteReplacement(replacement.replace("\\n", "\n")));

        assertThatThrownBy(() -> LabSpecYaml.parse(broken, "lab.yaml"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("lab.yaml: ")
                .hasMessageContaining(message);
    }

    @Test
    void shouldRejectAPrefixThatMakesInterfaceNamesTooLong() {
        String yaml = SMALL.replace("prefix: hp-s-", "prefix: hp-long").replace("vni: 5001", "vni: 16000000");

        assertThatThrownBy(() -> LabSpecYaml.parse(yaml, "lab.yaml"))
                .hasMessageContaining("interface hp-longvx16000000 for execution environment ee1 would exceed Linux's 15 characters");
    }

    @Test
    void shouldNameTheFileThatDoesNotExist() {
        assertThatThrownBy(() -> LabSpecYaml.load(Path.of("/nonexistent/lab.yaml")))
                .hasMessage("lab file /nonexistent/lab.yaml: no such file");
    }

    private static String defaultYaml() {
        try (InputStream in = LabSpecYaml.class.getResourceAsStream(LabSpecYaml.DEFAULT_RESOURCE)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
