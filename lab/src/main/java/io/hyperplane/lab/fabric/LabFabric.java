package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.Fabric;
import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.lab.dns.Answers;
import io.hyperplane.lab.dns.DnsServer;
import io.hyperplane.lab.dns.InternetDnsMain;
import io.hyperplane.lab.dns.Zones;
import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.DetachedProcess;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Jvm;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.sandbox.InstanceSandbox;
import io.hyperplane.linux.sandbox.SyscallFilter;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The lab's fabric: VPCs, subnets and instances as namespaces on this machine.
 * <pre>
 *   PREFIX + vpc-…   one per VPC: the VPC router. A bridge per subnet ("hp-b" + VNI) holding the
 *                    subnet's router address (.1), IP forwarding, and the subnets' network ACLs
 *                    as nftables chains on the forward hook (stateless, numbered, default deny);
 *                    on the underlay at the VPC's VTEP address, a VXLAN device per subnet ("hp-vx"
 *                    + VNI) on its bridge, to the fleet's anycast address, spread per flow over the
 *                    plan's nodes and replies routed by port block ({@link FleetRouting}): where the
 *                    nodes reach the subnet (DESIGN.md §2, "VNI = subnet"); sealed from the underlay
 *                    ({@link UnderlaySeal}): nothing routed between it and the subnets, no subnet
 *                    reaches the system's ranges, the tunnels take VXLAN from the nodes only.
 *                    Each subnet's route table as policy routing ({@link RouteTables}); with an
 *                    internet gateway, a link "hp-igw" to the internet router and a one-to-one NAT
 *                    of the VPC's public addresses on it ({@link GatewayNat}); AmazonProvidedDNS
 *                    at the VPC's base address + 2 (on lo; {@link DnsServer}, in this JVM)
 *   PREFIX + underlay the underlay bridge "hp-ul" (198.18.0.0/15) the routers and nodes join; the
 *                    fleet's prober sends from its address on it ({@link FleetRouting#PROBER_ADDRESS})
 *   PREFIX + i-…     one per instance: a veth "hp-eth0" on its subnet's bridge, its private
 *                    address and default route, its security groups as a stateful nftables table
 *                    (established first, then the allow rules, policy drop), its UserData run once
 *                    with /etc/resolv.conf naming the VPC's resolver
 *   PREFIX + internet, PREFIX + inet-host   the internet router and the simulated internet's hosts
 *                    ({@link InternetRouter}), unless the fabric has no {@link Outside}
 * </pre>
 * Converges: creates what is missing, re-renders rules each time (atomically, so tracked
 * connections survive rule changes, as AWS's security groups promise), deletes namespaces no
 * longer wanted. Every namespace is journalled before it is made, so {@code hyperplane lab down
 * --prefix PREFIX} removes exactly these, also after a crash; a restarted server adopts them.
 */
public final class LabFabric implements Fabric {
    public static final String DEFAULT_PREFIX = "hp-f-";
    static final Duration STEP = Duration.ofSeconds(20);
    private static final String ETH = "hp-eth0";
    private static final String UNDERLAY_BRIDGE = "hp-ul";
    static final String UNDERLAY_PORT = "hp-ul0";
    private static final int UNDERLAY_PREFIX = 15; // 198.18.0.0/15: nodes in the lower half, VPC VTEPs in the upper
    private static final int UNDERLAY_MTU = 1600; // a 1500-byte inner frame plus VXLAN's 50 bytes
    /** An instance's /tmp and /dev/shm: tmpfs, bounded so that one instance cannot take the machine's memory through them. */
    private static final long INSTANCE_TMP_BYTES = 1024L * 1024 * 1024;
    /** What an instance may write to its own /usr, /etc, /var and /root: room for a package or two and their data. */
    private static final long INSTANCE_LAYER_BYTES = 4L * 1024 * 1024 * 1024;
    /** An instance's memory, its tmpfs pages included: a mid-sized EC2 instance's. */
    private static final long INSTANCE_MEMORY_BYTES = 4L * 1024 * 1024 * 1024;
    /** An instance's processes and threads: room for a database with a few hundred connections. */
    private static final int INSTANCE_MAX_PROCESSES = 4096;
    /** The internet host's log, in the state directory. */
    public static final String INTERNET_HOST_LOG = InternetRouter.HOST_LOG;
    /** The log of a lab's internet DNS servers ({@link #buildInternet}), in the state directory. */
    public static final String INTERNET_DNS_LOG = "internet-dns.log";
    private static final List<String> DNS_JVM_OPTIONS = List.of("-Xmx64m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED"); // setns(2), NetworkNamespace

    private final Path stateDir;
    private final String prefix;
    private final Consumer<String> log;
    /**
     * The ruleset last loaded into each namespace: a sync reloads only what changed. Empty after a
     * restart, so the first sync reloads everything once (adoption). Changed by the sync thread only.
     */
    private final Map<String, String> loaded = new HashMap<>();
    private final Outside outside;
    private final InternetRouter internet;
    /** The routers' way to the fleet; made with the underlay (its prober lives there), by the sync thread. */
    private FleetRouting fleet;
    /**
     * The DNS servers running in this JVM, by "namespace address": shared by every fabric in it, so
     * that a fabric made again for the same namespaces (a restarted control plane) adopts the running
     * servers as it adopts the namespaces, rather than finding their ports taken.
     */
    private static final Map<String, DnsServer> DNS = new ConcurrentHashMap<>();

    /** A fabric with the simulated internet. */
    public LabFabric(Path stateDir, String prefix, Consumer<String> log) {
        this(stateDir, prefix, Outside.SIMULATED, log);
    }

    public LabFabric(Path stateDir, String prefix, Outside outside, Consumer<String> log) {
        this.stateDir = stateDir;
        this.prefix = prefix;
        this.log = log;
        this.outside = outside;
        this.internet = outside instanceof Outside.None ? null : new InternetRouter(this, stateDir, prefix, outside, log);
    }

    /** The internet router's namespace ({@code PREFIX + "internet"}). */
    public static String internetNamespace(String prefix) {
        return InternetRouter.namespace(prefix);
    }

    /** The simulated internet's hosts' namespace ({@code PREFIX + "inet-host"}: 203.0.113.10 and .53). */
    public static String internetHostsNamespace(String prefix) {
        return InternetRouter.hostsNamespace(prefix);
    }

    /**
     * Builds the internet router and the simulated internet's hosts for a lab that is no fabric's
     * ({@code hyperplane lab up}): on the lab's underlay through {@code underlay}, the service
     * egress subnet's tunnel spread over {@code forwarderNodes} (each pointed home once), each namespace journalled in
     * {@code journal} before it is made. The code a fabric converges its internet with, run once.
     * The DNS servers, which a fabric keeps in its own JVM, run in a process of their own
     * ({@link InternetDnsMain}, logging to {@link #INTERNET_DNS_LOG}): {@code lab up}'s JVM exits.
     *
     * @return the namespaces it made, in creation order
     */
    public static List<String> buildInternet(Path stateDir, String prefix, Journal journal, UnderlayPort underlay,
                                             List<String> forwarderNodes, Consumer<String> log) throws IOException, InterruptedException {
        InternetRouter internet = new LabFabric(stateDir, prefix, Outside.SIMULATED, log).internet;
        // No process stays to probe: every node is pointed home once, as the plan of these nodes has them all in service.
        FleetRouting fleet = FleetRouting.unprobed(log);
        fleet.plan(FleetPlan.inService(forwarderNodes));
        internet.converge(journal, Namespaces.list(), underlay, forwarderNodes, fleet);
        String hosts = internetHostsNamespace(prefix);
        List<String> command = new ArrayList<>(Jvm.command(DNS_JVM_OPTIONS, InternetDnsMain.class.getName()));
        command.addAll(List.of(internetNamespace(prefix), hosts));
        DetachedProcess.start("internet dns in " + hosts, Namespaces.execIn(hosts, command), stateDir.resolve(INTERNET_DNS_LOG))
                .awaitReady("ready", InternetRouter.READY_TIMEOUT);
        return internet.namespaces();
    }

    /** Stops the DNS servers in this fabric's namespaces (the namespaces stay: {@code lab down} removes them). */
    @Override
    public synchronized void close() {
        if (fleet != null) {
            try {
                fleet.close();
            } catch (IOException e) {
                log.accept("fabric: stopping the fleet's prober: " + e.getMessage());
            }
        }
        DNS.values().removeIf(server -> {
            if (server.namespace().startsWith(prefix)) {
                server.close();
                return true;
            }
            return false;
        });
    }

    public static String instanceNamespace(String prefix, String instanceId) {
        return prefix + instanceId;
    }

    private volatile boolean underlayPinned;

    /**
     * Builds the underlay now and keeps it even while there is no VPC: for hosts (forwarder nodes,
     * workers) that join it before any VPC exists.
     */
    public synchronized void pinUnderlay() {
        underlayPinned = true;
        String underlay = underlayNamespace(prefix);
        try {
            if (!Namespaces.list().contains(underlay)) {
                namespace(Journal.openOrCreate(stateDir, prefix), underlay);
                ip(underlay, "link", "add", UNDERLAY_BRIDGE, "mtu", Integer.toString(UNDERLAY_MTU), "type", "bridge");
                ip(underlay, "link", "set", UNDERLAY_BRIDGE, "up");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("fabric: underlay: " + e.getMessage(), e);
        }
    }

    public String prefix() {
        return prefix;
    }

    @Override
    public synchronized Set<String> apply(FabricState desired) {
        // Convergence is background work: its ip/nft processes run at nice 19, behind cold starts.
        return Commands.inBackground(() -> converge(desired));
    }

    private Set<String> converge(FabricState desired) {
        try {
            Journal journal = Journal.openOrCreate(stateDir, prefix);
            Set<String> existing = Namespaces.list();
            Set<String> wanted = new HashSet<>();
            Set<String> up = new HashSet<>();
            String underlay = underlayNamespace(prefix);
            if (!desired.vpcs().isEmpty() || underlayPinned) {
                wanted.add(underlay);
                if (!existing.contains(underlay)) {
                    namespace(journal, underlay);
                    ip(underlay, "link", "add", UNDERLAY_BRIDGE, "mtu", Integer.toString(UNDERLAY_MTU), "type", "bridge");
                    ip(underlay, "link", "set", UNDERLAY_BRIDGE, "up");
                }
            }
            if (wanted.contains(underlay)) {
                if (fleet == null) {
                    fleet = FleetRouting.probed(underlay, UNDERLAY_BRIDGE, log);
                }
                fleet.plan(desired.fleet());
            }
            Set<String> dnsWanted = new HashSet<>();
            boolean internetUp = false;
            if (internet != null && wanted.contains(underlay)) {
                wanted.addAll(internet.namespaces());
                try {
                    internet.converge(journal, existing, underlayPort(underlay, InternetRouter.FABRIC_UNDERLAY_PEER), desired.forwarderNodes(),
                            fleet);
                    dns(internetNamespace(prefix), Internet.SERVICE_RESOLVER, Zones.serviceResolver(), dnsWanted);
                    if (outside instanceof Outside.Simulated) {
                        dns(internetHostsNamespace(prefix), Internet.DNS, Zones.internetAuthority(), dnsWanted);
                    }
                    internetUp = true;
                } catch (IOException | RuntimeException e) {
                    // The VPCs go on without a way out this round; the internet is retried next round.
                    log.accept("fabric: internet router not converged: " + e.getMessage());
                }
            }
            List<FabricState.VpcNetwork> linked = new ArrayList<>();
            for (FabricState.VpcNetwork vpc : desired.vpcs()) {
                String router = prefix + vpc.id();
                wanted.add(router);
                vpc.instances().forEach(i -> wanted.add(instanceNamespace(prefix, i.id())));
                try {
                    applyVpc(journal, existing, desired, vpc, router, underlay, up);
                    if (gateway(vpc, router, internetUp)) {
                        linked.add(vpc);
                    }
                    applyRoutes(vpc, router);
                    applyDns(vpc, router, dnsWanted);
                    applyInstances(journal, existing, vpc, router, up);
                } catch (IOException | RuntimeException e) {
                    // One VPC's trouble must not stall the others: its instances stay pending, and it is retried next round.
                    log.accept("fabric: vpc " + vpc.id() + " not converged: " + e.getMessage());
                }
            }
            if (internetUp) {
                try {
                    internet.routes(linked);
                } catch (RuntimeException e) {
                    log.accept("fabric: internet routes not converged: " + e.getMessage());
                }
            }
            retainDns(dnsWanted);
            List<String> stale = new ArrayList<>();
            for (String ns : Journal.read(stateDir, log).namespaces()) {
                if (!wanted.contains(ns) && existing.contains(ns)) {
                    stale.add(ns);
                }
            }
            if (!stale.isEmpty()) {
                // instances before routers: a veth goes with either end, but processes should stop first
                stale.sort((a, b) -> Boolean.compare(a.startsWith(prefix + "vpc-"), b.startsWith(prefix + "vpc-")));
                Namespaces.killProcesses(stale, Duration.ofSeconds(3));
                for (String ns : stale) {
                    forget(ns);
                    if (fleet != null) {
                        fleet.forget(ns);
                    }
                    Namespaces.delete(ns);
                    if (ns.startsWith(prefix + "i-")) {
                        removeInstanceFiles(ns.substring(prefix.length()));
                    }
                    log.accept("fabric: removed namespace " + ns);
                }
            }
            return up;
        } catch (IOException e) {
            throw new UncheckedIOException("fabric: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("fabric: interrupted", e);
        }
    }

    /** Converges one VPC: its router, underlay link, subnets and tunnels, ACLs, then each instance on its own. */
    private void applyVpc(Journal journal, Set<String> existing, FabricState desired, FabricState.VpcNetwork vpc, String router,
                          String underlay, Set<String> up) throws IOException, InterruptedException {
        boolean created = !existing.contains(router);
        if (created) {
            namespace(journal, router);
        }
        // The ACLs, the seal and the gateway's NAT, in one transaction, before a new router has a link or forwards anything.
        List<String> mapped = vpc.publicAddresses().stream().map(FabricState.PublicAddress::privateIp).toList();
        nft(router, AclRules.render(vpc.subnets()) + UnderlaySeal.render(desired.forwarderNodes(), mapped)
                + GatewayNat.render(vpc, internet != null && vpc.internetGateway() != null)
                + FleetRouting.markRules(vpc.subnets().stream().map(s -> new FleetRouting.Tunnel(s.vni(), s.cidr())).toList()));
        if (created) {
            // Forwarding on; no redirects: a NAT gateway's route may send a subnet's packets back out of its own bridge.
            shell(router, "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects"
                    + " && echo 0 > /proc/sys/net/ipv4/conf/default/send_redirects");
            log.accept("fabric: vpc " + vpc.id() + " " + vpc.cidr() + " -> namespace " + router);
        }
        if (vpc.vtepIp() != null && !hasLink(router, UNDERLAY_PORT)) {
            joinUnderlay(router, underlay, "hp-u" + vpc.id().substring(Math.max(0, vpc.id().length() - 11)), vpc.vtepIp());
        }
        for (FabricState.SubnetNetwork subnet : vpc.subnets()) {
            String bridge = "hp-b" + subnet.vni();
            if (!hasLink(router, bridge)) {
                ip(router, "link", "add", bridge, "type", "bridge");
                ip(router, "address", "add", subnet.gatewayIp() + "/" + prefixLength(subnet.cidr()), "dev", bridge);
                ip(router, "link", "set", bridge, "up");
                log.accept("fabric: subnet " + subnet.id() + " " + subnet.cidr() + " -> bridge " + bridge + " in " + router);
            }
            if (vpc.vtepIp() != null) {
                tunnel(router, vpc.vtepIp(), subnet.vni());
            }
        }
        if (vpc.vtepIp() != null) {
            fleet.router(router);
        }
    }

    /** Each instance on its own. */
    private void applyInstances(Journal journal, Set<String> existing, FabricState.VpcNetwork vpc, String router, Set<String> up)
            throws InterruptedException {
        for (FabricState.InstanceHost instance : vpc.instances()) {
            try {
                applyInstance(journal, existing, vpc, router, instance);
                up.add(instance.id());
            } catch (IOException | RuntimeException e) {
                // This instance stays pending and is retried next round; the others go on.
                log.accept("fabric: instance " + instance.id() + " not converged: " + e.getMessage());
            }
        }
    }

    /**
     * The VPC's end of its internet gateway: the link when a gateway is attached (and the internet
     * router is up), no link when none is. True when the link is there.
     */
    private boolean gateway(FabricState.VpcNetwork vpc, String router, boolean internetUp) {
        if (internet == null) {
            return false;
        }
        if (vpc.internetGateway() == null) {
            internet.unlink(router, vpc);
            return false;
        }
        if (internetUp) {
            internet.link(router, vpc);
        }
        return hasLink(router, InternetRouter.VPC_LINK);
    }

    /** The subnets' route tables ({@link RouteTables}), reloaded only when they change. */
    private void applyRoutes(FabricState.VpcNetwork vpc, String router) {
        if (!hasLink(router, RouteTables.NO_ROUTE_DEVICE)) {
            // A veth with both ends here, not a dummy device: the lab's kernels need not have the dummy module.
            ip(router, "link", "add", RouteTables.NO_ROUTE_DEVICE, "type", "veth", "peer", "name", RouteTables.NO_ROUTE_DEVICE + "-p");
            ip(router, "link", "set", RouteTables.NO_ROUTE_DEVICE + "-p", "up");
            ip(router, "link", "set", RouteTables.NO_ROUTE_DEVICE, "up");
        }
        Map<String, Integer> wanted = RouteTables.tables(vpc);
        ExecResult link = Commands.run(STEP, Namespaces.ipIn(router, "-o", "link", "show", "dev", InternetRouter.VPC_LINK));
        String tables = RouteTables.render(vpc, link.ok());
        String key = router + " routes";
        // The link's index too: a link made again (its routes went with the old one) reloads the tables.
        String state = wanted + "\n" + tables + (link.ok() ? link.stdout().substring(0, link.stdout().indexOf(':')) : "");
        if (state.equals(loaded.get(key))) {
            return;
        }
        loaded.remove(key);
        ExecResult rules = Commands.check(STEP, Namespaces.ipIn(router, "rule", "show"));
        List<String> batch = new ArrayList<>();
        // Tables first, then the rules that point at them: a subnet is never sent to a table still empty.
        batch.add(tables);
        batch.addAll(RouteTables.ruleChanges(RouteTables.parseRules(rules.stdout()), wanted));
        String script = String.join("\n", batch).strip();
        if (!script.isEmpty()) {
            ExecResult r = Commands.run(STEP, Namespaces.ipIn(router, "-batch", "-"), script + "\n");
            if (!r.ok()) {
                throw new IllegalStateException("route tables in " + router + " failed: " + r.stderr().strip() + "\n" + script);
            }
        }
        loaded.put(key, state);
    }

    /**
     * AmazonProvidedDNS at the VPC's base address + 2, on the router's loopback (reached through
     * each subnet's router address, or on the link when a subnet holds it): answering when the VPC
     * has DNS support, silent when it has not.
     */
    private void applyDns(FabricState.VpcNetwork vpc, String router, Set<String> dnsWanted) {
        String resolver = Zones.resolverAddress(vpc.cidr());
        ExecResult lo = Commands.check(STEP, Namespaces.ipIn(router, "-4", "-o", "address", "show", "dev", "lo"));
        if (!lo.stdout().contains(" " + resolver + "/32")) {
            ip(router, "address", "add", resolver + "/32", "dev", "lo");
        }
        if (vpc.dns().support()) {
            dns(router, resolver, Zones.vpcResolver(vpc), dnsWanted);
        }
    }

    /**
     * Starts (or updates) the DNS server at {@code ip} in {@code ns}, and marks it wanted this round.
     * A server that cannot start is retried next round; nothing else waits for it.
     */
    private void dns(String ns, String ip, Answers answers, Set<String> dnsWanted) {
        String key = ns + " " + ip;
        dnsWanted.add(key);
        DnsServer server = DNS.get(key);
        if (server != null && server.current()) {
            server.update(answers);
            return;
        }
        if (server != null) {
            server.close(); // its namespace was removed and made again: the socket is in the old one
            DNS.remove(key);
        }
        try {
            DNS.put(key, DnsServer.start(ns, ip, answers, log));
            log.accept("fabric: dns " + ip + " -> " + ns);
        } catch (IOException | RuntimeException e) {
            log.accept("fabric: dns " + ip + " in " + ns + " not started: " + e.getMessage());
        }
    }

    /** Stops the DNS servers no longer wanted (their VPC gone, or its DNS support turned off). */
    private void retainDns(Set<String> dnsWanted) {
        DNS.entrySet().removeIf(entry -> {
            if (!entry.getValue().namespace().startsWith(prefix) || dnsWanted.contains(entry.getKey())) {
                return false;
            }
            entry.getValue().close();
            log.accept("fabric: dns " + entry.getValue().ip() + " in " + entry.getValue().namespace() + " stopped");
            return true;
        });
    }

    private void applyInstance(Journal journal, Set<String> existing, FabricState.VpcNetwork vpc, String router,
                               FabricState.InstanceHost instance) throws IOException, InterruptedException {
        String ns = instanceNamespace(prefix, instance.id());
        FabricState.SubnetNetwork subnet = vpc.subnets().stream().filter(s -> s.id().equals(instance.subnetId())).findFirst().orElseThrow();
        if (!existing.contains(ns) || !hasLink(ns, ETH)) {
            if (!existing.contains(ns)) {
                namespace(journal, ns);
            }
            String peer = "hp-" + instance.id().substring(Math.max(0, instance.id().length() - 12));
            if (hasLink(router, peer)) {
                ip(router, "link", "del", peer); // left by a crash between the two ends' set-up
            }
            ip(ns, "link", "add", ETH, "type", "veth", "peer", "name", peer, "netns", router);
            ip(router, "link", "set", peer, "master", "hp-b" + subnet.vni(), "up");
            ip(ns, "address", "add", instance.ip() + "/" + instance.prefixLength(), "dev", ETH);
            ip(ns, "link", "set", ETH, "up");
            ip(ns, "route", "add", "default", "via", instance.gatewayIp());
            log.accept("fabric: instance " + instance.id() + " " + instance.ip() + " -> namespace " + ns);
        }
        nft(ns, SecurityGroupRules.render(instance));
        startUserData(ns, instance, Zones.resolverAddress(vpc.cidr()));
    }

    /** A veth from {@code ns} ({@link #UNDERLAY_PORT} at {@code vtep}) to the underlay bridge ({@code peer}); a kernel VTEP's lower device. */
    static void joinUnderlay(String ns, String underlay, String peer, String vtep) {
        joinUnderlay(ns, underlayPort(underlay, peer), vtep);
    }

    /** As {@link #joinUnderlay(String, String, String, String)}, on any underlay: this fabric's or a lab's. */
    static void joinUnderlay(String ns, UnderlayPort underlay, String vtep) {
        String mtu = Integer.toString(underlay.mtu());
        ip(ns, "link", "add", UNDERLAY_PORT, "mtu", mtu, "type", "veth", "peer", "name", underlay.peer(),
                "netns", underlay.namespace(), "mtu", mtu);
        ip(underlay.namespace(), "link", "set", underlay.peer(), "master", underlay.bridge(), "up");
        offloadsOff(ns, UNDERLAY_PORT);
        ip(ns, "address", "add", vtep + "/" + underlay.prefixLength(), "dev", UNDERLAY_PORT);
        ip(ns, "link", "set", UNDERLAY_PORT, "up");
    }

    /** This fabric's underlay, as a VTEP whose veth's bridge end is {@code peer} joins it. */
    private static UnderlayPort underlayPort(String underlay, String peer) {
        return new UnderlayPort(underlay, UNDERLAY_BRIDGE, peer, UNDERLAY_MTU, UNDERLAY_PREFIX);
    }

    public static String underlayNamespace(String prefix) {
        return prefix + "underlay";
    }

    /**
     * The subnet's VXLAN toward the forwarder nodes: created once, its flood list (all-zero MAC
     * entries, one per node) reconciled to the current nodes each time.
     */
    static void tunnel(String router, String vtep, int vni) {
        String vx = "hp-vx" + vni;
        if (hasLink(router, vx)) {
            String shown = Commands.check(STEP, Namespaces.ipIn(router, "-d", "link", "show", "dev", vx)).stdout();
            if (shown.contains("remote " + FleetPlan.ANYCAST + " ") && !shown.contains(" dev ")) {
                return;
            }
            // A router made before the fleet's plan: flooding to every node through "dev". A VXLAN device's
            // remote cannot be changed, so it is made again (its frames in flight are lost, once).
            ip(router, "link", "del", vx);
        }
        // No "dev": with it the kernel sets the lookup's output device and skips multipath (research §1c).
        ip(router, "link", "add", vx, "type", "vxlan", "id", String.valueOf(vni), "local", vtep, "remote", FleetPlan.ANYCAST,
                "dstport", "4789", "nolearning");
        offloadsOff(router, vx);
        ip(router, "link", "set", vx, "mtu", "1500", "master", "hp-b" + vni, "up");
    }

    /** Checksum and segmentation offloads off where packets enter a tunnel toward a userspace forwarder. */
    static void offloadsOff(String ns, String device) {
        Commands.check(STEP, Namespaces.execIn(ns, List.of("ethtool", "-K", device, "tx", "off", "tso", "off", "gso", "off")));
    }

    /**
     * UserData runs once per instance, detached, logging to the state dir, as the root of an
     * instance sandbox ({@link InstanceSandbox}): its own mount, PID, IPC and UTS namespaces on a
     * copy-on-write root filesystem, in the instance's network namespace, with a server's
     * capabilities but none that administer the host or the network.
     */
    private void startUserData(String ns, FabricState.InstanceHost instance, String resolver) throws IOException, InterruptedException {
        Path marker = stateDir.resolve(instance.id() + ".started");
        if (instance.userData() == null || Files.exists(marker)) {
            return;
        }
        Path script = stateDir.resolve(instance.id() + ".userdata");
        Files.writeString(script, instance.userData(), StandardCharsets.UTF_8);
        EnvironmentCgroup cgroup = EnvironmentCgroup.create(cgroupOwner(prefix), instance.id(), INSTANCE_MEMORY_BYTES, INSTANCE_MAX_PROCESSES);
        InstanceSandbox sandbox = new InstanceSandbox("ip-" + instance.ip().replace('.', '-'), stateDir.resolve(instance.id()), instanceImage(), ns,
                script, imagePaths(), INSTANCE_TMP_BYTES, INSTANCE_LAYER_BYTES, cgroup == null ? List.of() : cgroup.procsFiles(), resolver);
        List<String> command = new ArrayList<>(List.of("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"));
        command.addAll(sandbox.launchCommand(stateDir.resolve("seccomp.bpf")));
        DetachedProcess.start(instance.id(), command, stateDir.resolve(instance.id() + ".log"));
        Files.writeString(marker, "");
        log.accept("fabric: instance " + instance.id() + " UserData started (log " + stateDir.resolve(instance.id() + ".log") + ")");
    }

    /** What every instance of this fabric starts from, made once: the sanitised /etc (returned) and the system-call filter. */
    private synchronized Path instanceImage() throws IOException, InterruptedException {
        Path image = stateDir.resolve("etc-image");
        if (!Files.isDirectory(image)) {
            InstanceSandbox.makeEtcImage(image);
        }
        if (!Files.isRegularFile(stateDir.resolve("seccomp.bpf"))) {
            SyscallFilter.write(stateDir.resolve("seccomp.bpf"));
        }
        return image;
    }

    /**
     * What the lab's instance image carries besides the system: this JVM and its class path (the
     * hyperplane distribution), read-only, so that an instance can run the lab's service host.
     */
    private static List<Path> imagePaths() {
        List<Path> paths = new ArrayList<>();
        paths.add(Path.of(System.getProperty("java.home")));
        for (String entry : Jvm.classpath().split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                paths.add(Path.of(entry).toAbsolutePath());
            }
        }
        return paths;
    }

    /** The name a fabric's instance cgroups are kept under: {@code hyperplane-lab-PREFIX}. */
    public static String cgroupOwner(String prefix) {
        return "lab-" + prefix.replaceAll("-+$", "");
    }

    /** A terminated instance's cgroups, layers, UserData, marker and log. */
    private void removeInstanceFiles(String instanceId) throws IOException, InterruptedException {
        EnvironmentCgroup.deleteOne(cgroupOwner(prefix), instanceId);
        InstanceSandbox.delete(stateDir.resolve(instanceId));
        for (String suffix : List.of(".userdata", ".started", ".log")) {
            Files.deleteIfExists(stateDir.resolve(instanceId + suffix));
        }
    }

    void namespace(Journal journal, String ns) throws IOException {
        forget(ns); // a new namespace has no rules or routes, whatever was loaded into an earlier one of that name
        journal.recordNamespace(ns);
        Namespaces.add(ns);
        // ping through ping sockets for every user: instances have no CAP_NET_RAW (InstanceSandbox)
        shell(ns, "if [ -d /proc/sys/net/ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"
                + " && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi; echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range");
        ip(ns, "link", "set", "lo", "up");
    }

    /** Drops what {@link #loaded} remembers of {@code ns}: its ruleset, and its route tables ({@code ns + " routes"}). */
    private void forget(String ns) {
        loaded.keySet().removeIf(key -> key.equals(ns) || key.startsWith(ns + " "));
    }

    static boolean hasLink(String ns, String device) {
        return Commands.run(STEP, Namespaces.ipIn(ns, "link", "show", "dev", device)).ok();
    }

    static void ip(String ns, String... args) {
        Commands.check(STEP, Namespaces.ipIn(ns, args));
    }

    static void shell(String ns, String script) {
        Commands.check(STEP, Namespaces.execIn(ns, List.of("sh", "-c", script)));
    }

    /** Loads a ruleset in one nft transaction (the table is replaced whole or not at all), unless it is already loaded. */
    void nft(String ns, String ruleset) throws IOException {
        if (ruleset.equals(loaded.get(ns))) {
            return;
        }
        ExecResult r = Commands.run(STEP, Namespaces.execIn(ns, List.of("nft", "-f", "-")), ruleset);
        if (!r.ok()) {
            loaded.remove(ns);
            throw new IllegalStateException("nft in " + ns + " failed: " + r.stderr().strip() + "\n" + ruleset);
        }
        loaded.put(ns, ruleset);
    }

    private static int prefixLength(String cidr) {
        return Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
    }
}
