package io.hyperplane.dataplane.policy;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.NodeSnapshot.Eni;
import io.hyperplane.config.NodeSnapshot.ExecutionEnvironment;
import io.hyperplane.config.NodeSnapshot.NatGateway;
import io.hyperplane.config.NodeSnapshot.NetworkAcl;
import io.hyperplane.config.NodeSnapshot.RouteTable;
import io.hyperplane.config.NodeSnapshot.SecurityGroup;
import io.hyperplane.config.NodeSnapshot.Subnet;
import io.hyperplane.dataplane.util.LongIntMap;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;
import io.hyperplane.packet.MacAddress;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A {@link NodeSnapshot} compiled for the hot path: arrays indexed by small integers and
 * primitive maps from VNI and from (network, address). Immutable; built off the forwarding thread
 * and handed over whole, so a reload is one reference swap between batches. Flows refer to EEs by
 * VNI and to ENIs by (subnet VNI, address), never by these indexes, so they survive a reload.
 * <p>
 * Addresses belong to networks (DESIGN.md §9): an ENI is found by its subnet's VNI and its
 * address, and "is this address an ENI of this VPC" by the VPC and the address, so the same
 * address in any number of VPCs is as many distinct ENIs.
 * <p>
 * NAT gateways are Hyperplane addresses like ENIs (DESIGN.md §11): found by (subnet VNI, address)
 * for ARP and replies, and by their MAC among their subnet's few NAT gateways for the frames the
 * subnet's router hands them.
 */
public final class CompiledConfig {
    public static final int NONE = LongIntMap.MISSING;

    private final long version;
    private final int gatewayIp;
    private final long gatewayMac;

    private final LongIntMap eeByVni;
    private final int[] eeHost;
    private final int[] eeIp;
    private final long[] eeMac;
    private final int[] eeEni;

    private final LongIntMap subnetByVni;
    private final int[] subnetVni;
    private final int[] subnetVtep;
    private final int[] subnetNetwork;
    private final int[] subnetMask;
    private final int[] subnetGateway;
    private final int[] subnetVpc;
    private final NetworkAclRules[] subnetAcl;
    private final RouteTableRules[] subnetRoutes;

    /** (subnet VNI, address) -> ENI. */
    private final LongIntMap eniByAddress;
    /** (VPC index, address) -> ENI: what an EE of that VPC may never address. */
    private final LongIntMap eniInVpc;
    private final int[] eniIp;
    private final long[] eniMac;
    private final int[] eniSubnet;
    private final SecurityGroupRules[] eniEgress;
    private final boolean[] eniServiceEgress;

    /** (subnet VNI, address) -> NAT gateway. */
    private final LongIntMap natGatewayByAddress;
    private final String[] natGatewayId;
    private final int[] natGatewayIp;
    private final long[] natGatewayMac;
    private final int[] natGatewaySubnet;
    /** Per subnet, its NAT gateways: rarely more than one, so a scan by MAC is one or two compares. */
    private final int[][] subnetNatGateways;

    private CompiledConfig(NodeSnapshot s) {
        version = s.version();
        gatewayIp = Ipv4Address.parse(s.eeGateway().ip());
        gatewayMac = MacAddress.parse(s.eeGateway().mac());

        Map<String, SecurityGroup> groups = byId(s.securityGroups(), SecurityGroup::id);
        Map<String, NetworkAcl> acls = byId(s.networkAcls(), NetworkAcl::id);
        Map<String, RouteTable> tables = byId(s.routeTables(), RouteTable::id);

        List<Subnet> subnets = s.subnets();
        int ns = subnets.size();
        subnetByVni = new LongIntMap(ns);
        subnetVni = new int[ns];
        subnetVtep = new int[ns];
        subnetNetwork = new int[ns];
        subnetMask = new int[ns];
        subnetGateway = new int[ns];
        subnetVpc = new int[ns];
        Map<String, Integer> vpcIndex = new HashMap<>();
        for (int i = 0; i < s.vpcs().size(); i++) {
            vpcIndex.put(s.vpcs().get(i).id(), i);
        }
        subnetAcl = new NetworkAclRules[ns];
        subnetRoutes = new RouteTableRules[ns];
        Map<String, Integer> subnetIndex = new HashMap<>();
        for (int i = 0; i < ns; i++) {
            Subnet subnet = subnets.get(i);
            Ipv4Cidr cidr = Ipv4Cidr.parse(subnet.cidr());
            subnetIndex.put(subnet.id(), i);
            subnetByVni.put(subnet.vni(), i);
            subnetVni[i] = subnet.vni();
            subnetVtep[i] = Ipv4Address.parse(subnet.vtep());
            subnetNetwork[i] = cidr.network();
            subnetMask[i] = cidr.mask();
            subnetGateway[i] = subnet.gatewayIp();
            subnetVpc[i] = vpcIndex.get(subnet.vpcId());
            subnetAcl[i] = NetworkAclRules.compile(acls.get(subnet.networkAclId()));
            subnetRoutes[i] = RouteTableRules.compile(tables.get(subnet.routeTableId()));
        }

        List<Eni> enis = s.enis();
        int ne = enis.size();
        eniByAddress = new LongIntMap(ne);
        eniInVpc = new LongIntMap(ne + s.natGateways().size());
        eniIp = new int[ne];
        eniMac = new long[ne];
        eniSubnet = new int[ne];
        eniEgress = new SecurityGroupRules[ne];
        eniServiceEgress = new boolean[ne];
        Map<String, Integer> eniIndex = new HashMap<>();
        for (int i = 0; i < ne; i++) {
            Eni eni = enis.get(i);
            eniIndex.put(eni.id(), i);
            eniIp[i] = Ipv4Address.parse(eni.ip());
            eniMac[i] = MacAddress.parse(eni.mac());
            eniSubnet[i] = subnetIndex.get(eni.subnetId());
            eniByAddress.put(LongIntMap.key(subnetVni[eniSubnet[i]], eniIp[i]), i);
            eniInVpc.put(LongIntMap.key(subnetVpc[eniSubnet[i]], eniIp[i]), i);
            eniEgress[i] = SecurityGroupRules.egress(eni.securityGroupIds(), groups);
            eniServiceEgress[i] = eni.serviceEgress();
        }

        List<NatGateway> nats = s.natGateways();
        int nn = nats.size();
        natGatewayByAddress = new LongIntMap(nn);
        natGatewayId = new String[nn];
        natGatewayIp = new int[nn];
        natGatewayMac = new long[nn];
        natGatewaySubnet = new int[nn];
        int[] perSubnet = new int[ns];
        for (int i = 0; i < nn; i++) {
            NatGateway nat = nats.get(i);
            natGatewayId[i] = nat.id();
            natGatewayIp[i] = Ipv4Address.parse(nat.ip());
            natGatewayMac[i] = MacAddress.parse(nat.mac());
            natGatewaySubnet[i] = subnetIndex.get(nat.subnetId());
            natGatewayByAddress.put(LongIntMap.key(subnetVni[natGatewaySubnet[i]], natGatewayIp[i]), i);
            // Like an ENI, no EE may address a NAT gateway directly: the value only says "taken".
            eniInVpc.put(LongIntMap.key(subnetVpc[natGatewaySubnet[i]], natGatewayIp[i]), ne + i);
            perSubnet[natGatewaySubnet[i]]++;
        }
        subnetNatGateways = new int[ns][];
        for (int i = 0; i < ns; i++) {
            subnetNatGateways[i] = new int[perSubnet[i]];
            perSubnet[i] = 0;
        }
        for (int i = 0; i < nn; i++) {
            int subnet = natGatewaySubnet[i];
            subnetNatGateways[subnet][perSubnet[subnet]++] = i;
        }

        List<ExecutionEnvironment> ees = s.executionEnvironments();
        int nee = ees.size();
        eeByVni = new LongIntMap(nee);
        eeHost = new int[nee];
        eeIp = new int[nee];
        eeMac = new long[nee];
        eeEni = new int[nee];
        for (int i = 0; i < nee; i++) {
            ExecutionEnvironment ee = ees.get(i);
            eeByVni.put(ee.vni(), i);
            eeHost[i] = Ipv4Address.parse(ee.host());
            eeIp[i] = Ipv4Address.parse(ee.ip());
            eeMac[i] = MacAddress.parse(ee.mac());
            eeEni[i] = eniIndex.get(ee.eniId());
        }
    }

    public static CompiledConfig compile(NodeSnapshot snapshot) {
        return new CompiledConfig(snapshot);
    }

    private static <T> Map<String, T> byId(List<T> items, Function<T, String> id) {
        return items.stream().collect(Collectors.toMap(id, Function.identity()));
    }

    public long version() {
        return version;
    }

    public int gatewayIp() {
        return gatewayIp;
    }

    public long gatewayMac() {
        return gatewayMac;
    }

    // ---- execution environments

    public int eeByVni(int vni) {
        return eeByVni.get(vni);
    }

    public int eeHost(int ee) {
        return eeHost[ee];
    }

    public int eeIp(int ee) {
        return eeIp[ee];
    }

    public long eeMac(int ee) {
        return eeMac[ee];
    }

    public int eeEni(int ee) {
        return eeEni[ee];
    }

    // ---- subnets

    public int subnetByVni(int vni) {
        return subnetByVni.get(vni);
    }

    public int subnetVni(int subnet) {
        return subnetVni[subnet];
    }

    public int subnetVtep(int subnet) {
        return subnetVtep[subnet];
    }

    public boolean subnetContains(int subnet, int address) {
        return (address & subnetMask[subnet]) == subnetNetwork[subnet];
    }

    public int subnetGateway(int subnet) {
        return subnetGateway[subnet];
    }

    /** The subnet's VPC, as an index valid in this config only. */
    public int subnetVpc(int subnet) {
        return subnetVpc[subnet];
    }

    public NetworkAclRules subnetAcl(int subnet) {
        return subnetAcl[subnet];
    }

    public RouteTableRules subnetRoutes(int subnet) {
        return subnetRoutes[subnet];
    }

    // ---- ENIs

    /** The ENI at {@code ip} in the subnet with VNI {@code subnetVni}, or {@link #NONE}. */
    public int eniByAddress(int subnetVni, int ip) {
        return eniByAddress.get(LongIntMap.key(subnetVni, ip));
    }

    /**
     * Whether {@code ip} is a Hyperplane address (an ENI or a NAT gateway) in any subnet of the VPC
     * {@code vpc} (a {@link #subnetVpc} index): {@link #NONE} when not, another value when it is.
     */
    public int eniInVpc(int vpc, int ip) {
        return eniInVpc.get(LongIntMap.key(vpc, ip));
    }

    public int eniCount() {
        return eniIp.length;
    }

    public int eniIp(int eni) {
        return eniIp[eni];
    }

    public long eniMac(int eni) {
        return eniMac[eni];
    }

    public int eniSubnet(int eni) {
        return eniSubnet[eni];
    }

    public SecurityGroupRules eniEgress(int eni) {
        return eniEgress[eni];
    }

    /** The service egress of functions without a VpcConfig (NodeSnapshot.Eni.SERVICE_EGRESS): public destinations only. */
    public boolean eniServiceEgress(int eni) {
        return eniServiceEgress[eni];
    }

    // ---- NAT gateways

    /** The NAT gateway at {@code ip} in the subnet with VNI {@code subnetVni}, or {@link #NONE}. */
    public int natGatewayByAddress(int subnetVni, int ip) {
        return natGatewayByAddress.get(LongIntMap.key(subnetVni, ip));
    }

    /** The NAT gateway of {@code subnet} whose MAC is {@code mac}, or {@link #NONE}. */
    public int natGatewayByMac(int subnet, long mac) {
        int[] candidates = subnetNatGateways[subnet];
        for (int nat : candidates) {
            if (natGatewayMac[nat] == mac) {
                return nat;
            }
        }
        return NONE;
    }

    public int natGatewayCount() {
        return natGatewayIp.length;
    }

    public String natGatewayId(int nat) {
        return natGatewayId[nat];
    }

    public int natGatewayIp(int nat) {
        return natGatewayIp[nat];
    }

    public long natGatewayMac(int nat) {
        return natGatewayMac[nat];
    }

    public int natGatewaySubnet(int nat) {
        return natGatewaySubnet[nat];
    }
}
