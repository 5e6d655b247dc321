package io.hyperplane.config.fabric;

import java.util.List;

/**
 * The networks the control plane wants to exist, for a {@link Fabric} to make real: every VPC with
 * its subnets (and their network ACLs) and its live instances (with their security groups'
 * rules, references to other groups already resolved to the members' addresses). Whole state,
 * not a diff: applying it twice changes nothing the second time.
 */
public record FabricState(List<VpcNetwork> vpcs, List<String> forwarderNodes) {
    public FabricState {
        vpcs = List.copyOf(vpcs);
        forwarderNodes = List.copyOf(forwarderNodes);
    }

    /**
     * A VPC: its block, the underlay address its router terminates the subnets' tunnels on (toward
     * every forwarder node in {@link #forwarderNodes()}), its subnets and live instances.
     */
    public record VpcNetwork(String id, String cidr, String vtepIp, List<SubnetNetwork> subnets, List<InstanceHost> instances) {
        public VpcNetwork {
            subnets = List.copyOf(subnets);
            instances = List.copyOf(instances);
        }
    }

    /** A subnet: its block, its tunnel VNI, its router address (the first host address) and its ACL. */
    public record SubnetNetwork(String id, String cidr, int vni, String gatewayIp, List<AclRule> aclIngress, List<AclRule> aclEgress) {
        public SubnetNetwork {
            aclIngress = List.copyOf(aclIngress);
            aclEgress = List.copyOf(aclEgress);
        }
    }

    /** One numbered ACL rule; protocol "-1" (all) or an IANA number as text; ports -1 when not applicable. */
    public record AclRule(int number, String protocol, boolean allow, String cidr, int fromPort, int toPort) {
    }

    /** An instance: where it is, what it runs at boot, and what its security groups let in and out. */
    public record InstanceHost(String id, String subnetId, String ip, int prefixLength, String gatewayIp, String userData,
                               List<Permission> ingress, List<Permission> egress) {
        public InstanceHost {
            ingress = List.copyOf(ingress);
            egress = List.copyOf(egress);
        }
    }

    /** An allow rule: protocol "tcp", "udp", "icmp", "-1" or a number; port range (ICMP: type/code); peers. */
    public record Permission(String protocol, int fromPort, int toPort, List<String> cidrs) {
        public Permission {
            cidrs = List.copyOf(cidrs);
        }
    }
}
