package io.hyperplane.lab.fabric;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.underlay.ResilientNexthopGroup;
import io.hyperplane.linux.underlay.SteeredGroups;
import io.hyperplane.linux.underlay.UdpLivenessProber;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * How the fabric's routers (each VPC router and the internet router) send their subnets' tunnels to
 * the fleet (docs/fleet.md): every {@code hp-vx*} device goes to the fleet's anycast address (no
 * {@code dev}, no flood list), reached through a resilient group with one slot per plan member, all
 * of them steered together by one prober ({@link SteeredGroups}) in the underlay's namespace; and
 * what goes to a Hyperplane address is sent to the node that owns its destination port's block:
 * <pre>
 *   bridge table hp_fleet (forward and output hooks, frames leaving into hp-vx*):
 *     IPv4 to an address inside the tunnel's subnet (behind a tunnel there are only ENIs and NAT
 *     gateways), TCP/UDP destination port, ICMP echo reply's identifier, or an ICMP error's
 *     embedded source port (IHL 5 assumed) in 1024..65535    mark 0x100 + its block
 *     anything else (ARP, forwarded traffic to a NAT gateway)   mark 0x1
 *   ip rule pref 900+b fwmark 0x100+b lookup 16777216+b         (beyond every subnet's table, its VNI)
 *   table 16777216+b: ANYCAST/32 nhid (the block owner's slot)  (re-pointed with the owner's slot)
 * </pre>
 * Every mark is non-zero, so the VXLAN device looks its route up per packet (research §1c): a
 * 0x1 packet takes the group (per flow), a block's takes its owner's slot, and when the owner is
 * down its slot, re-pointed at the backup, takes the reply there too.
 */
final class FleetRouting implements AutoCloseable {
    /** The group's ids in a router namespace, 100..165: nothing else there uses nexthop ids. */
    static final int GROUP_ID = 100;
    static final int NO_BLOCK_MARK = 0x1;
    static final int BLOCK_MARK = 0x100;
    /** Above every subnet's route table (its VNI, below 2^24). */
    static final int BLOCK_TABLE = 1 << 24;
    /** Before the route tables' rules (RouteTables.RULE_PRIORITY, 1000); they match on iif, these on the mark. */
    static final int BLOCK_RULE_PRIORITY = 900;
    static final String TABLE = "hp_fleet";
    /**
     * Before br_netfilter's hook (NF_BR_PRI_BRNF, 0), which the kernel runs on every bridged IPv4
     * frame while the module is loaded: it passes the frame through the IP hooks and then resumes
     * the bridge's only at priorities above 0, so a chain at 0 registered before it (this table is
     * loaded before the router's bridges exist) never sees a forwarded frame. Measured: at 0 the
     * replies went unmarked (every one to the group, none by its block), at -10 all were marked.
     */
    static final int PRIORITY = -10;
    /**
     * The underlay namespace's own address, which the fabric's prober sends from: not a router's
     * (their seals drop what is not VXLAN), not a node's, below the internet router's .254.
     */
    static final String PROBER_ADDRESS = "198.18.255.253";

    private final SteeredGroups steering;
    private final Consumer<String> log;
    private final Map<String, ResilientNexthopGroup> groups = new HashMap<>();
    /** Per router, the block routes last programmed; the rules are programmed once per router and process. */
    private final Map<String, String> routes = new HashMap<>();
    private FleetPlan plan = FleetPlan.empty(0);

    private FleetRouting(SteeredGroups steering, Consumer<String> log) {
        this.steering = steering;
        this.log = log;
    }

    /** Probing from the underlay namespace {@code underlay}, which gets {@link #PROBER_ADDRESS} on its bridge. */
    static FleetRouting probed(String underlay, String bridge, Consumer<String> log) throws IOException {
        ExecResult has = Commands.run(LabFabric.STEP, Namespaces.ipIn(underlay, "-4", "address", "show", "dev", bridge));
        if (!has.ok() || !has.stdout().contains(PROBER_ADDRESS + "/")) {
            LabFabric.ip(underlay, "address", "add", PROBER_ADDRESS + "/15", "dev", bridge);
        }
        return new FleetRouting(SteeredGroups.probed("fabric", underlay, new InetSocketAddress(Inet4Address.ofLiteral(PROBER_ADDRESS), 0),
                NodeHeartbeat.DEFAULT_PORT, UdpLivenessProber.Settings.DEFAULTS), log);
    }

    /** Membership alone, every member home while in service ({@code lab up}: no process stays to probe). */
    static FleetRouting unprobed(Consumer<String> log) {
        return new FleetRouting(SteeredGroups.unprobed("lab"), log);
    }

    /** Follows a new plan in every router: slots, then block routes. */
    synchronized void plan(FleetPlan next) {
        if (next.version() < plan.version() || next.equals(plan)) {
            return;
        }
        plan = next;
        steering.members(members(next));
        groups.keySet().forEach(this::blockRoutes);
    }

    /** The router {@code ns} (new, or adopted) is steered too: its group, its block rules and routes. */
    synchronized void router(String ns) {
        if (!groups.containsKey(ns)) {
            ResilientNexthopGroup group = ResilientNexthopGroup.open(ResilientNexthopGroup.Settings.of(ns, LabFabric.UNDERLAY_PORT,
                    Inet4Address.ofLiteral(FleetPlan.ANYCAST), GROUP_ID));
            groups.put(ns, group);
            steering.add(group);
            blockRules(ns);
        }
        blockRoutes(ns);
    }

    /** The router's namespace is gone (its nexthops with it). */
    synchronized void forget(String ns) {
        ResilientNexthopGroup group = groups.remove(ns);
        if (group != null) {
            steering.remove(group);
        }
        routes.remove(ns);
    }

    private static List<SteeredGroups.Member> members(FleetPlan plan) {
        List<SteeredGroups.Member> out = new ArrayList<>();
        for (FleetPlan.Member m : plan.members()) {
            out.add(new SteeredGroups.Member(m.index(), Inet4Address.ofLiteral(m.underlayIp()), m.inService(), m.backup()));
        }
        return out;
    }

    /** One rule per block, made once: delete whatever holds the preference, then add it. */
    private void blockRules(String ns) {
        String shown = Commands.check(LabFabric.STEP, Namespaces.ipIn(ns, "rule", "show")).stdout();
        StringBuilder batch = new StringBuilder();
        for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
            int pref = BLOCK_RULE_PRIORITY + b;
            String wanted = "fwmark 0x" + Integer.toHexString(BLOCK_MARK + b) + " lookup " + (BLOCK_TABLE + b);
            String line = shown.lines().filter(l -> l.startsWith(pref + ":")).findFirst().orElse(null);
            if (line != null && line.contains(wanted)) {
                continue;
            }
            if (line != null) {
                batch.append("rule del pref ").append(pref).append('\n');
            }
            batch.append("rule add pref ").append(pref).append(' ').append(wanted).append('\n');
        }
        if (!batch.isEmpty()) {
            ExecResult r = Commands.run(LabFabric.STEP, Namespaces.ipIn(ns, "-batch", "-"), batch.toString());
            if (!r.ok()) {
                throw new IllegalStateException("fleet block rules in " + ns + ": " + r.stderr().strip());
            }
        }
    }

    /** Each block's table sends ANYCAST to its owner's slot; nothing runs when that is already so. */
    private void blockRoutes(String ns) {
        if (plan.members().isEmpty()) {
            return; // no slot to name; packets to ANYCAST meet the group's blackhole
        }
        ResilientNexthopGroup group = groups.get(ns);
        StringBuilder batch = new StringBuilder();
        for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
            batch.append("route replace ").append(FleetPlan.ANYCAST).append("/32 nhid ").append(group.slotId(plan.owner(b).index()))
                    .append(" table ").append(BLOCK_TABLE + b).append('\n');
        }
        String lines = batch.toString();
        if (lines.equals(routes.get(ns))) {
            return;
        }
        ExecResult r = Commands.run(LabFabric.STEP, Namespaces.ipIn(ns, "-batch", "-"), lines);
        if (r.ok()) {
            routes.put(ns, lines);
        } else {
            routes.remove(ns); // the next plan or router round tries again
            log.accept("fabric: block routes in " + ns + ": " + r.stderr().strip());
        }
    }

    /** A tunnel and the subnet behind it. */
    record Tunnel(int vni, String cidr) {
        String device() {
            return "hp-vx" + vni;
        }
    }

    /** The bridge table that marks frames leaving into {@code tunnels}, replacing any earlier one. */
    static String markRules(List<Tunnel> tunnels) {
        String blocks = blockElements();
        StringBuilder s = new StringBuilder();
        s.append("add table bridge ").append(TABLE).append('\n');
        s.append("delete table bridge ").append(TABLE).append('\n');
        s.append("table bridge ").append(TABLE).append(" {\n");
        s.append("  map ports { typeof tcp dport : meta mark; flags interval; elements = { ").append(blocks).append(" } }\n");
        s.append("  map ids { typeof icmp id : meta mark; flags interval; elements = { ").append(blocks).append(" } }\n");
        s.append("  chain forward { type filter hook forward priority ").append(PRIORITY).append("; policy accept; jump steer; }\n");
        s.append("  chain output { type filter hook output priority ").append(PRIORITY).append("; policy accept; jump steer; }\n");
        s.append("  chain steer {\n");
        String ports = FleetPlan.FIRST_PORT + "-65535";
        for (Tunnel t : tunnels) {
            String to = "    oifname \"" + t.device() + "\"";
            String inside = to + " ip daddr " + t.cidr();
            s.append(to).append(" meta mark set 0x").append(Integer.toHexString(NO_BLOCK_MARK)).append('\n');
            s.append(inside).append(" tcp dport ").append(ports).append(" meta mark set tcp dport map @ports\n");
            s.append(inside).append(" udp dport ").append(ports).append(" meta mark set udp dport map @ports\n");
            s.append(inside).append(" icmp type echo-reply icmp id ").append(ports).append(" meta mark set icmp id map @ids\n");
            // An ICMP error quotes the packet that caused it: 8 bytes of ICMP, 20 of IPv4 (IHL 5), then its source port.
            s.append(inside).append(" icmp type { destination-unreachable, source-quench, time-exceeded, parameter-problem } @th,224,16 ")
                    .append(ports).append(" meta mark set @th,224,16 map @ids\n");
        }
        s.append("  }\n}\n");
        return s.toString();
    }

    private static String blockElements() {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
            int first = FleetPlan.firstPortOf(b);
            out.add(first + "-" + (first + FleetPlan.BLOCK_PORTS - 1) + " : 0x" + Integer.toHexString(BLOCK_MARK + b));
        }
        return out.stream().collect(Collectors.joining(", "));
    }

    /** Stops probing; the routers keep their groups and routes (a restarted fabric adopts them). */
    @Override
    public void close() throws IOException {
        steering.close();
    }
}
