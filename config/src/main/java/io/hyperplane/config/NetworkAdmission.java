package io.hyperplane.config;

import io.hyperplane.config.NodeSnapshot.Eni;
import io.hyperplane.config.NodeSnapshot.ExecutionEnvironment;
import io.hyperplane.config.NodeSnapshot.Subnet;
import io.hyperplane.config.NodeSnapshot.Vpc;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rules that tie a snapshot's networks together, applied one resource at a time: a subnet
 * lies inside its VPC, does not overlap another subnet of that VPC and has a VNI nothing else
 * has; an ENI lies inside its subnet and its address is no other ENI's in that VPC; an execution
 * environment's VNI is its own. The same address in different VPCs is normal (DESIGN.md §9).
 * <p>
 * Each {@code admit} either accepts the resource or throws {@link IllegalArgumentException} with
 * the reason and changes nothing, so {@link NodeSnapshot} validates a whole snapshot with it and the
 * control plane builds one resource by resource, leaving out (and failing) only what breaks a rule.
 */
public final class NetworkAdmission {
    private final Map<Integer, String> vniOwners = new HashMap<>();
    private final Map<String, List<Subnet>> subnetsOfVpc = new HashMap<>();
    private final Map<String, Subnet> admittedSubnets = new HashMap<>();
    private final Set<String> eniAddresses = new HashSet<>();

    /** Admits a subnet of {@code vpc}; admitting one already admitted is a no-op. */
    public void admitSubnet(Vpc vpc, Subnet subnet) {
        if (admittedSubnets.get(subnet.id()) == subnet) {
            return;
        }
        if (!vpc.id().equals(subnet.vpcId())) {
            throw new IllegalArgumentException("subnet " + subnet.id() + ": belongs to vpc " + subnet.vpcId() + ", not " + vpc.id());
        }
        Ipv4Cidr cidr = Ipv4Cidr.parse(subnet.cidr());
        if (!Ipv4Cidr.parse(vpc.cidr()).contains(cidr)) {
            throw new IllegalArgumentException("subnet " + subnet.id() + ": cidr " + subnet.cidr() + " is outside vpc " + vpc.id() + " " + vpc.cidr());
        }
        if (vniOwners.containsKey(subnet.vni())) {
            throw new IllegalArgumentException("subnet " + subnet.id() + ": vni " + subnet.vni() + " is used twice");
        }
        List<Subnet> siblings = subnetsOfVpc.getOrDefault(subnet.vpcId(), List.of());
        for (Subnet sibling : siblings) {
            if (Ipv4Cidr.parse(sibling.cidr()).overlaps(cidr)) {
                throw new IllegalArgumentException("subnet " + subnet.id() + ": cidr " + subnet.cidr() + " overlaps subnet "
                        + sibling.id() + " " + sibling.cidr() + " in vpc " + subnet.vpcId());
            }
        }
        vniOwners.put(subnet.vni(), subnet.id());
        subnetsOfVpc.computeIfAbsent(subnet.vpcId(), k -> new ArrayList<>()).add(subnet);
        admittedSubnets.put(subnet.id(), subnet);
    }

    /** Admits an ENI of an admitted {@code subnet}. */
    public void admitEni(Subnet subnet, Eni eni) {
        if (admittedSubnets.get(subnet.id()) != subnet) {
            throw new IllegalArgumentException("eni " + eni.id() + ": subnet " + subnet.id() + " is not in the snapshot");
        }
        int ip = Ipv4Address.parse(eni.ip());
        if (!Ipv4Cidr.parse(subnet.cidr()).contains(ip)) {
            throw new IllegalArgumentException("eni " + eni.id() + ": ip " + eni.ip() + " is outside subnet " + subnet.id() + " " + subnet.cidr());
        }
        if (!eniAddresses.add(subnet.vpcId() + "/" + eni.ip())) {
            throw new IllegalArgumentException("eni " + eni.id() + ": ip " + eni.ip() + " is used by another eni in vpc " + subnet.vpcId());
        }
    }

    /** Admits an execution environment (its ENI is the caller's to check). */
    public void admitEnvironment(ExecutionEnvironment ee) {
        String owner = vniOwners.putIfAbsent(ee.vni(), ee.id());
        if (owner != null) {
            throw new IllegalArgumentException("execution environment " + ee.id() + ": vni " + ee.vni() + " is used twice");
        }
    }
}
