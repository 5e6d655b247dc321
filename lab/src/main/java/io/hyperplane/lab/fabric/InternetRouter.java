package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.lab.service.ServiceHost;
import io.hyperplane.lab.service.ServiceHostMain;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.DetachedProcess;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.packet.Ipv4Address;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The internet router (DESIGN.md §11) and, when the internet is simulated, the internet's hosts.
 * <pre>
 *   PREFIX + internet   the internet router: on the underlay at 198.18.255.254 with the service egress
 *                       subnet's VXLAN (VNI 1000, flooding to every forwarder node) on bridge hp-b1000
 *                       holding 192.0.2.1/24 (the subnet's router) and 192.0.2.2 (the service resolver);
 *                       a link per VPC with an internet gateway ("hp-i" + the VPC id's tail, 169.254.255.2/30,
 *                       the VPC router's end "hp-igw" 169.254.255.1/30: the same pair on every link, each
 *                       its own device, so no numbering to keep), and a /32 route over it to each of the
 *                       VPC's public addresses; outside, hp-hosts 203.0.113.1/24 toward the hosts, or the uplink
 *   PREFIX + inet-host  the simulated internet's hosts: 203.0.113.10 (service host: GET /whoami on 80,
 *                       TCP echo on 7, UDP echo on 53) and 203.0.113.53 (the internet's DNS server)
 * </pre>
 * The link addresses are link-local (RFC 3927): no tenant or test uses them, and the seals keep them
 * off every path a tenant has. Sealed ({@link InternetSeal}): it forwards only between public addresses.
 */
final class InternetRouter {
    static final String VPC_LINK = "hp-igw";
    static final String VPC_LINK_PEER_PREFIX = "hp-i";
    static final String VPC_SIDE = "169.254.255.1";
    static final String INTERNET_SIDE = "169.254.255.2";
    private static final String LINK_PREFIX = "/30";
    private static final String HOSTS_LINK = "hp-hosts";
    private static final String HOST_ETH = "hp-eth0";
    private static final List<String> SERVICE_JVM_OPTIONS = List.of("-Xmx64m", "-XX:+UseSerialGC");
    static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    static final String HOST_LOG = "internet-host.log";
    /** The underlay bridge's end of the router's veth, in a fabric's underlay. */
    static final String FABRIC_UNDERLAY_PEER = "hp-uinternet";

    private final LabFabric fabric;
    private final Path stateDir;
    private final String prefix;
    private final Outside outside;
    private final Consumer<String> log;

    InternetRouter(LabFabric fabric, Path stateDir, String prefix, Outside outside, Consumer<String> log) {
        this.fabric = fabric;
        this.stateDir = stateDir;
        this.prefix = prefix;
        this.outside = outside;
        this.log = log;
    }

    static String namespace(String prefix) {
        return prefix + "internet";
    }

    static String hostsNamespace(String prefix) {
        return prefix + "inet-host";
    }

    /** The namespaces it keeps. */
    List<String> namespaces() {
        return outside instanceof Outside.Simulated ? List.of(namespace(prefix), hostsNamespace(prefix)) : List.of(namespace(prefix));
    }

    /** The router, its underlay link and egress subnet, its outside; and the hosts' services when simulated. */
    void converge(Journal journal, Set<String> existing, UnderlayPort underlay, List<String> forwarderNodes, FleetRouting fleet)
            throws IOException, InterruptedException {
        String ns = namespace(prefix);
        boolean created = !existing.contains(ns);
        if (created) {
            fabric.namespace(journal, ns);
        }
        fabric.nft(ns, InternetSeal.render(forwarderNodes)
                + FleetRouting.markRules(List.of(new FleetRouting.Tunnel(Internet.SERVICE_EGRESS_VNI, Internet.SERVICE_EGRESS_SUBNET.toString()))));
        if (created) {
            LabFabric.shell(ns, "echo 1 > /proc/sys/net/ipv4/ip_forward");
        }
        if (!LabFabric.hasLink(ns, LabFabric.UNDERLAY_PORT)) {
            if (LabFabric.hasLink(underlay.namespace(), underlay.peer())) {
                LabFabric.ip(underlay.namespace(), "link", "del", underlay.peer()); // left by a crash between the two ends' set-up
            }
            LabFabric.joinUnderlay(ns, underlay, Internet.ROUTER_VTEP);
        }
        String bridge = "hp-b" + Internet.SERVICE_EGRESS_VNI;
        if (!LabFabric.hasLink(ns, bridge)) {
            LabFabric.ip(ns, "link", "add", bridge, "type", "bridge");
            LabFabric.ip(ns, "address", "add", Internet.SERVICE_EGRESS_ROUTER + "/" + Internet.SERVICE_EGRESS_SUBNET.prefixLength(), "dev", bridge);
            LabFabric.ip(ns, "address", "add", Internet.SERVICE_RESOLVER + "/32", "dev", bridge);
            LabFabric.ip(ns, "link", "set", bridge, "up");
        }
        LabFabric.tunnel(ns, Internet.ROUTER_VTEP, Internet.SERVICE_EGRESS_VNI);
        fleet.router(ns);
        switch (outside) {
            case Outside.Simulated _ -> hosts(journal, existing, ns);
            case Outside.Uplink uplink -> uplink(ns, uplink);
            case Outside.None _ -> throw new IllegalStateException("no internet router without an outside");
        }
        if (created) {
            log.accept("fabric: internet router -> namespace " + ns + " (" + describe() + ")");
        }
    }

    private String describe() {
        return switch (outside) {
            case Outside.Simulated _ -> "simulated internet in " + hostsNamespace(prefix);
            case Outside.Uplink uplink -> "uplink " + uplink.device() + " " + uplink.address() + " via " + uplink.gateway();
            case Outside.None _ -> "none";
        };
    }

    private void hosts(Journal journal, Set<String> existing, String router) throws IOException, InterruptedException {
        String ns = hostsNamespace(prefix);
        if (!existing.contains(ns) || !LabFabric.hasLink(ns, HOST_ETH)) {
            if (!existing.contains(ns)) {
                fabric.namespace(journal, ns);
            }
            if (LabFabric.hasLink(router, HOSTS_LINK)) {
                LabFabric.ip(router, "link", "del", HOSTS_LINK); // left by a crash between the two ends' set-up
            }
            LabFabric.ip(ns, "link", "add", HOST_ETH, "type", "veth", "peer", "name", HOSTS_LINK, "netns", router);
            LabFabric.ip(router, "address", "add", Internet.HOSTS_ROUTER + "/" + Internet.HOSTS.prefixLength(), "dev", HOSTS_LINK);
            LabFabric.ip(router, "link", "set", HOSTS_LINK, "up");
            LabFabric.ip(ns, "address", "add", Internet.HOST + "/" + Internet.HOSTS.prefixLength(), "dev", HOST_ETH);
            LabFabric.ip(ns, "address", "add", Internet.DNS + "/" + Internet.HOSTS.prefixLength(), "dev", HOST_ETH);
            LabFabric.ip(ns, "link", "set", HOST_ETH, "up");
            LabFabric.ip(ns, "route", "add", "default", "via", Internet.HOSTS_ROUTER);
        }
        if (Namespaces.pids(ns).isEmpty()) {
            // Bound to the host's address only: 203.0.113.53's port 53 is the internet's DNS server.
            List<String> command = new ArrayList<>(Jvm.command(SERVICE_JVM_OPTIONS, ServiceHostMain.class.getName()));
            command.addAll(List.of("--bind", Internet.HOST, ServiceHost.Kind.HTTP.flag(), "80", ServiceHost.Kind.TCP_ECHO.flag(), "7",
                    ServiceHost.Kind.UDP_ECHO.flag(), "53"));
            DetachedProcess host = DetachedProcess.start("internet host in " + ns, Namespaces.execIn(ns, command), stateDir.resolve(HOST_LOG));
            host.awaitReady("ready", READY_TIMEOUT);
            log.accept("fabric: internet host " + Internet.HOST + " serving whoami on 80, echo on 7 and 53 (log " + stateDir.resolve(HOST_LOG) + ")");
        }
    }

    private void uplink(String router, Outside.Uplink uplink) {
        if (LabFabric.hasLink(router, uplink.device())) {
            return;
        }
        List<String> move = uplink.fromNamespace() == null
                ? List.of("ip", "link", "set", uplink.device(), "netns", router)
                : Namespaces.ipIn(uplink.fromNamespace(), "link", "set", uplink.device(), "netns", router);
        Commands.check(LabFabric.STEP, move);
        LabFabric.ip(router, "address", "add", uplink.address(), "dev", uplink.device());
        LabFabric.ip(router, "link", "set", uplink.device(), "up");
        LabFabric.ip(router, "route", "replace", "default", "via", uplink.gateway(), "dev", uplink.device());
        log.accept("fabric: uplink " + uplink.device() + " " + uplink.address() + " via " + uplink.gateway() + " -> " + router);
    }

    /** The VPC router's end of its gateway link, and the internet router's, made if missing. */
    void link(String vpcRouter, FabricState.VpcNetwork vpc) {
        if (LabFabric.hasLink(vpcRouter, VPC_LINK)) {
            return;
        }
        String ns = namespace(prefix);
        String peer = peerName(vpc.id());
        if (LabFabric.hasLink(ns, peer)) {
            LabFabric.ip(ns, "link", "del", peer);
        }
        LabFabric.ip(vpcRouter, "link", "add", VPC_LINK, "type", "veth", "peer", "name", peer, "netns", ns);
        LabFabric.ip(vpcRouter, "address", "add", VPC_SIDE + LINK_PREFIX, "dev", VPC_LINK);
        LabFabric.ip(vpcRouter, "link", "set", VPC_LINK, "up");
        LabFabric.ip(ns, "address", "add", INTERNET_SIDE + LINK_PREFIX, "dev", peer);
        LabFabric.ip(ns, "link", "set", peer, "up");
        log.accept("fabric: vpc " + vpc.id() + " internet gateway " + vpc.internetGateway() + " -> link " + VPC_LINK + " to " + ns);
    }

    /** Removes a detached gateway's link (both ends go with either). */
    void unlink(String vpcRouter, FabricState.VpcNetwork vpc) {
        if (LabFabric.hasLink(vpcRouter, VPC_LINK)) {
            LabFabric.ip(vpcRouter, "link", "del", VPC_LINK);
            log.accept("fabric: vpc " + vpc.id() + " internet gateway detached: link removed");
        }
    }

    /**
     * The internet router's routes to every VPC's public addresses, each over its VPC's link, and
     * no others; links whose VPC no longer has a gateway go.
     */
    void routes(List<FabricState.VpcNetwork> linked) {
        String ns = namespace(prefix);
        Set<String> wanted = new HashSet<>();
        Set<String> peers = new HashSet<>();
        for (FabricState.VpcNetwork vpc : linked) {
            String peer = peerName(vpc.id());
            peers.add(peer);
            for (FabricState.PublicAddress address : vpc.publicAddresses()) {
                wanted.add(Ipv4Address.format(Ipv4Address.parse(address.publicIp())) + " " + peer);
            }
        }
        for (String link : links(ns)) {
            if (link.startsWith(VPC_LINK_PEER_PREFIX) && !peers.contains(link)) {
                LabFabric.ip(ns, "link", "del", link);
            }
        }
        Set<String> present = new HashSet<>();
        ExecResult shown = Commands.check(LabFabric.STEP, Namespaces.ipIn(ns, "-4", "route", "show", "via", VPC_SIDE));
        for (String line : shown.stdout().lines().toList()) {
            String[] f = line.trim().split("\\s+");
            // "198.51.100.5 dev hp-i0000000001 " (via is the filter, so not shown)
            if (f.length >= 3 && f[1].equals("dev")) {
                present.add(f[0] + " " + f[2]);
            }
        }
        for (String route : present) {
            if (!wanted.contains(route)) {
                String[] f = route.split(" ");
                LabFabric.ip(ns, "route", "del", f[0] + "/32", "via", VPC_SIDE, "dev", f[1]);
            }
        }
        for (String route : wanted) {
            if (!present.contains(route)) {
                String[] f = route.split(" ");
                LabFabric.ip(ns, "route", "replace", f[0] + "/32", "via", VPC_SIDE, "dev", f[1]);
            }
        }
    }

    private static List<String> links(String ns) {
        List<String> names = new ArrayList<>();
        ExecResult shown = Commands.check(LabFabric.STEP, Namespaces.ipIn(ns, "-o", "link", "show"));
        for (String line : shown.stdout().lines().toList()) {
            String[] f = line.split(":\\s+", 3); // "12: hp-i000000001@if11: <...>"
            if (f.length >= 2) {
                String name = f[1].trim();
                int at = name.indexOf('@');
                names.add(at < 0 ? name : name.substring(0, at));
            }
        }
        return names;
    }

    static String peerName(String vpcId) {
        return VPC_LINK_PEER_PREFIX + vpcId.substring(Math.max(0, vpcId.length() - 11));
    }
}
