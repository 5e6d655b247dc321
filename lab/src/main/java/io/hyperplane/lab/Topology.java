package io.hyperplane.lab;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.fabric.UnderlayPort;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.lab.spec.DeviceNames;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.service.ServiceHost;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds a lab's links and addresses, namespace by namespace. Every command acts inside a lab
 * namespace ({@code ip -n NS}, {@code ip netns exec NS}); nothing is added to the root namespace.
 * <pre>
 *  hp-underlay:  bridge hp-ul (mtu 1600) ── hp-p1 ── hp-p2 ── hp-p3 ...
 *                                             │        │        │   veth pairs
 *  hp-node1 hp-ul0 198.18.0.1   hp-host1 hp-ul0 .11   hp-vpc1 hp-ul0 .21
 *                                 hp-vx5001 ─moved─▶ hp-ee1     hp-br1 ⊃ hp-vx1001, hp-r1 ── hp-res1 hp-eth0
 *  hp-internet hp-ul0 198.18.255.254 (with internet: true; the fabric's internet router, LabFabric.buildInternet)
 * </pre>
 */
final class Topology {
    private final LabSpec spec;
    private final Path stateDir;
    private final Journal journal;
    private final Consumer<String> progress;
    private final String prefix;
    private final String underlay;

    Topology(LabSpec spec, Path stateDir, Journal journal, Consumer<String> progress) {
        this.spec = spec;
        this.stateDir = stateDir;
        this.journal = journal;
        this.progress = progress;
        this.prefix = spec.prefix();
        this.underlay = spec.underlayNamespace();
    }

    void build() throws IOException, InterruptedException {
        buildUnderlay();
        int member = 0;
        for (LabSpec.Node node : spec.nodes()) {
            String ns = spec.namespace(node.name());
            namespace(ns);
            // The node's veth keeps its offloads: it is a userspace VTEP that may want UDP GRO/GSO.
            joinUnderlay(ns, node.underlayIp(), ++member, false);
            // The fleet's anycast address, where the internet router's tunnel goes (docs/fleet.md).
            ip(ns, "address", "add", FleetPlan.ANYCAST + "/32", "dev", "lo");
            progress.accept("lab: node " + node.name() + " " + ns + " underlay " + node.underlayIp() + " ... ok");
        }
        for (LabSpec.Host host : spec.hosts()) {
            buildHost(host, ++member);
        }
        int subnetIndex = 0;
        int resourceIndex = 0;
        for (LabSpec.Vpc vpc : spec.vpcs()) {
            Map<String, String> bridges = buildRouter(vpc, ++member, subnetIndex);
            subnetIndex += vpc.subnets().size();
            for (LabSpec.Resource resource : vpc.resources()) {
                buildResource(vpc, resource, bridges.get(resource.subnet()), ++resourceIndex);
            }
        }
        if (spec.internet()) {
            buildInternet(++member);
        }
    }

    /**
     * The simulated internet, built by the fabric's own code (LabFabric) on this lab's underlay:
     * the internet router at {@link Internet#ROUTER_VTEP} with the service egress subnet's tunnel
     * to the nodes, and the internet's hosts behind it.
     */
    private void buildInternet(int member) throws IOException, InterruptedException {
        UnderlayPort port = new UnderlayPort(underlay, DeviceNames.underlayBridge(prefix), DeviceNames.underlayPeer(prefix, member),
                spec.underlay().mtu(), spec.underlay().prefixLength());
        List<String> nodes = spec.nodes().stream().map(LabSpec.Node::underlayIp).toList();
        LabFabric.buildInternet(stateDir, prefix, journal, port, nodes, progress);
        progress.accept("lab: internet router " + spec.internetNamespace() + " underlay " + Internet.ROUTER_VTEP + ", service egress "
                + Internet.SERVICE_EGRESS_SUBNET + " vni " + Internet.SERVICE_EGRESS_VNI + "; internet host " + Internet.HOST + " in "
                + spec.internetHostsNamespace() + " ... ok");
    }

    private void buildUnderlay() throws IOException {
        namespace(underlay);
        String bridge = DeviceNames.underlayBridge(prefix);
        ip(underlay, "link", "add", bridge, "type", "bridge");
        ip(underlay, "link", "set", bridge, "mtu", mtu(), "up");
        progress.accept("lab: underlay " + underlay + " bridge " + bridge + " " + spec.underlay().cidr() + " mtu " + mtu() + " ... ok");
    }

    private void buildHost(LabSpec.Host host, int member) throws IOException {
        String ns = spec.namespace(host.name());
        namespace(ns);
        joinUnderlay(ns, host.underlayIp(), member, true);
        progress.accept("lab: host " + host.name() + " " + ns + " underlay " + host.underlayIp() + " ... ok");
        String nodeIp = spec.node(host.node()).underlayIp();
        for (LabSpec.Ee ee : host.executionEnvironments()) {
            String eeNs = spec.namespace(ee.name());
            namespace(eeNs);
            // Created in the host, then moved: the VXLAN socket stays in the host's namespace (DESIGN.md §2).
            String vx = DeviceNames.vxlan(prefix, ee.vni());
            ip(ns, "link", "add", vx, "type", "vxlan", "id", Integer.toString(ee.vni()), "local", host.underlayIp(),
                    "remote", nodeIp, "dstport", port(), "dev", DeviceNames.underlayPort(prefix), "nolearning");
            ip(ns, "link", "set", vx, "address", ee.mac());
            offloadsOff(ns, vx);
            ip(ns, "link", "set", vx, "netns", eeNs);
            ip(eeNs, "link", "set", vx, "mtu", Integer.toString(LabSpec.INNER_MTU));
            ip(eeNs, "address", "add", ee.ip() + "/" + spec.eeNetwork().prefixLength(), "dev", vx);
            ip(eeNs, "link", "set", vx, "up");
            ip(eeNs, "route", "add", "default", "via", spec.eeNetwork().gateway());
            progress.accept("lab: ee " + ee.name() + " " + eeNs + " " + ee.ip() + " vni " + ee.vni() + " via " + host.name()
                    + " to " + nodeIp + " ... ok");
        }
    }

    private Map<String, String> buildRouter(LabSpec.Vpc vpc, int member, int subnetsBefore) throws IOException {
        LabSpec.Router router = vpc.router();
        String ns = spec.namespace(router.name());
        namespace(ns);
        joinUnderlay(ns, router.underlayIp(), member, true);
        shell(ns, "echo 1 > /proc/sys/net/ipv4/ip_forward");
        String nodeIp = spec.node(router.node()).underlayIp();
        Map<String, String> bridges = new HashMap<>();
        List<String> described = new ArrayList<>();
        int index = subnetsBefore;
        for (LabSpec.Subnet subnet : vpc.subnets()) {
            String bridge = DeviceNames.subnetBridge(prefix, ++index);
            String vx = DeviceNames.vxlan(prefix, subnet.vni());
            ip(ns, "link", "add", bridge, "type", "bridge");
            ip(ns, "address", "add", subnet.gateway() + "/" + subnet.prefixLength(), "dev", bridge);
            ip(ns, "link", "add", vx, "type", "vxlan", "id", Integer.toString(subnet.vni()), "local", router.underlayIp(),
                    "remote", nodeIp, "dstport", port(), "dev", DeviceNames.underlayPort(prefix), "nolearning");
            ip(ns, "link", "set", vx, "mtu", Integer.toString(LabSpec.INNER_MTU), "master", bridge);
            offloadsOff(ns, vx);
            ip(ns, "link", "set", vx, "up");
            ip(ns, "link", "set", bridge, "up");
            bridges.put(subnet.id(), bridge);
            described.add(subnet.id() + " " + subnet.cidr() + " " + bridge + " vni " + subnet.vni());
        }
        progress.accept("lab: vpc " + vpc.id() + " router " + ns + " underlay " + router.underlayIp() + ", "
                + String.join(", ", described) + " ... ok");
        return bridges;
    }

    private void buildResource(LabSpec.Vpc vpc, LabSpec.Resource resource, String bridge, int index) throws IOException {
        String ns = spec.namespace(resource.name());
        String routerNs = spec.namespace(vpc.router().name());
        LabSpec.Subnet subnet = vpc.subnet(resource.subnet());
        namespace(ns);
        // A resource is a server that every EE behind one ENI address connects to at once (the
        // data-plane test holds 10,000 connections). The kernel caps a listener's backlog at
        // somaxconn, 4,096 in a new namespace: a burst larger than that overflows the accept queue
        // while the service host catches up, handshakes are dropped, and a client whose request
        // socket then expires is answered with a reset (issue 15). These are this namespace's
        // own settings; the machine's are untouched.
        shell(ns, "echo " + ServiceHost.BACKLOG + " > /proc/sys/net/core/somaxconn"
                + " && echo " + ServiceHost.BACKLOG + " > /proc/sys/net/ipv4/tcp_max_syn_backlog");
        String port = DeviceNames.resourcePort(prefix);
        String peer = DeviceNames.resourcePeer(prefix, index);
        ip(ns, "link", "add", port, "type", "veth", "peer", "name", peer, "netns", routerNs);
        ip(routerNs, "link", "set", peer, "master", bridge);
        ip(routerNs, "link", "set", peer, "up");
        ip(ns, "address", "add", resource.ip() + "/" + subnet.prefixLength(), "dev", port);
        ip(ns, "link", "set", port, "up");
        ip(ns, "route", "add", "default", "via", subnet.gateway());
        progress.accept("lab: resource " + resource.name() + " " + ns + " " + resource.ip() + " on " + subnet.id() + " ... ok");
    }

    /**
     * Journals, creates, and readies a namespace: IPv6 off before any link exists (else router
     * solicitations leak into the tunnels, DESIGN.md §6), loopback up.
     */
    private void namespace(String ns) throws IOException {
        journal.recordNamespace(ns);
        Namespaces.add(ns);
        shell(ns, "if [ -d /proc/sys/net/ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"
                + " && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi");
        ip(ns, "link", "set", "lo", "up");
    }

    /** A veth from the member namespace to the underlay bridge, created directly in both namespaces. */
    private void joinUnderlay(String ns, String underlayIp, int member, boolean kernelVtep) {
        String port = DeviceNames.underlayPort(prefix);
        String peer = DeviceNames.underlayPeer(prefix, member);
        ip(ns, "link", "add", port, "mtu", mtu(), "type", "veth", "peer", "name", peer, "netns", underlay, "mtu", mtu());
        ip(underlay, "link", "set", peer, "master", DeviceNames.underlayBridge(prefix), "up");
        if (kernelVtep) {
            offloadsOff(ns, port);
        }
        ip(ns, "address", "add", underlayIp + "/" + spec.underlay().prefixLength(), "dev", port);
        ip(ns, "link", "set", port, "up");
    }

    /**
     * Checksum and segmentation offloads off where packets enter a tunnel toward a forwarder (the
     * kernel VXLAN devices and their underlay links): otherwise a userspace forwarder on the same
     * machine receives inner packets carrying only the pseudo-header checksum, and ~64 KB GSO
     * datagrams (reference/forwarder-prototype.md, pitfalls). Receive offloads (GRO) and links
     * that never carry tunnel traffic keep their defaults; both benchmark paths see the same lab.
     */
    private void offloadsOff(String ns, String device) {
        Commands.check(Namespaces.execIn(ns, List.of(Tools.command(Tool.ETHTOOL), "-K", device,
                "tx", "off", "tso", "off", "gso", "off")));
    }

    private void shell(String ns, String script) {
        Commands.check(Namespaces.execIn(ns, List.of("sh", "-c", script)));
    }

    private static void ip(String ns, String... args) {
        Commands.check(Namespaces.ipIn(ns, args));
    }

    private String mtu() {
        return Integer.toString(spec.underlay().mtu());
    }

    private String port() {
        return Integer.toString(spec.underlay().vxlanPort());
    }
}
