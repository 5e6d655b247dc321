package io.hyperplane.linux.underlay;

import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.netns.NetworkNamespace;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The research's topology (issue 17 §1), in namespaces of the test's own, every name starting with
 * {@code prefix} and removed by exact name on {@link #close}, even after a failure half way:
 * <pre>
 *   PREFIX-ul: bridge br0
 *     ├─ PREFIX-s   ul0 198.18.0.2/24, vx0 (VXLAN 100, local 198.18.0.2, remote ANYCAST, NO dev) 100.65.0.2/24
 *     ├─ PREFIX-n1  ul0 198.18.0.11/24, lo ANYCAST/32, responder on 198.18.0.11:4789
 *     ├─ PREFIX-n2  ... .12
 *     └─ PREFIX-n3  ... .13
 * </pre>
 * The sender marks what leaves into vx0 ({@code meta mark set 0x1}) so the VXLAN device looks its
 * route up per packet instead of using its cache (research §1c). Each node records, in an nft set,
 * the inner UDP source port of every VXLAN datagram that reaches it at the anycast address: which
 * node each inner flow landed on. Nothing listens on ANYCAST:4789; the datagrams are counted and
 * dropped, as the research did.
 */
final class UnderlayLab implements AutoCloseable {
    static final Inet4Address ANYCAST = Inet4Address.ofLiteral("198.19.255.1");
    static final Inet4Address SENDER = Inet4Address.ofLiteral("198.18.0.2");
    static final List<Inet4Address> NODES = List.of(Inet4Address.ofLiteral("198.18.0.11"), Inet4Address.ofLiteral("198.18.0.12"),
            Inet4Address.ofLiteral("198.18.0.13"));
    static final int PROBE_PORT = 4789;
    static final int GROUP_ID = 1000;
    /** The inner flows' destination behind the tunnel, answered by nobody: a static neighbour stands in for its ARP. */
    private static final InetSocketAddress INNER_DESTINATION = new InetSocketAddress("100.65.0.1", 9999);
    private static final String INNER_SOURCE = "100.65.0.2";
    private static final String TABLE = "hptnh";
    /**
     * Bit offsets from the outer UDP header (nft's {@code @th}): 8 UDP + 8 VXLAN + 14 Ethernet + 20
     * IPv4 bytes = 400 bits to the inner UDP source port, 416 to its destination port.
     */
    private static final String INNER_SOURCE_PORT = "@th,400,16";
    private static final String INNER_DESTINATION_PORT = "@th,416,16";
    private static final Pattern ELEMENTS = Pattern.compile("\"elem\":\\s*\\[([^\\]]*)\\]");

    final String prefix;
    final String underlay;
    final String sender;
    /** Where vx0 is and the inner flows start: the sender, or (as a worker's environment) a namespace of its own. */
    final String inner;
    final List<String> nodes;
    private final List<String> made = new ArrayList<>();
    private final Map<Inet4Address, UdpProbeResponder> responders = new HashMap<>();

    UnderlayLab(String prefix) throws IOException {
        this(prefix, false);
    }

    /**
     * With {@code environment}, vx0 is made in the sender and moved into {@code PREFIX-ee}, and the
     * mark rule is there, as a worker host does with an execution environment's tunnel: the mark
     * set in one namespace must still steer the VXLAN device's route lookup in the other.
     */
    UnderlayLab(String prefix, boolean environment) throws IOException {
        this.prefix = prefix;
        this.underlay = prefix + "ul";
        this.sender = prefix + "s";
        this.inner = environment ? prefix + "ee" : sender;
        this.nodes = List.of(prefix + "n1", prefix + "n2", prefix + "n3");
        try {
            build();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private void build() throws IOException {
        List<String> all = new ArrayList<>(List.of(underlay, sender, nodes.get(0), nodes.get(1), nodes.get(2)));
        if (!inner.equals(sender)) {
            all.add(inner);
        }
        for (String ns : all) {
            Namespaces.delete(ns); // a previous run's, killed before its cleanup: same exact name
            Namespaces.add(ns);
            made.add(ns);
            ip(ns, "link", "set", "lo", "up");
        }
        ip(underlay, "link", "add", "br0", "type", "bridge");
        ip(underlay, "link", "set", "br0", "up");
        attach(sender, "ps", SENDER);
        for (int i = 0; i < nodes.size(); i++) {
            String node = nodes.get(i);
            attach(node, "p" + (i + 1), NODES.get(i));
            ip(node, "addr", "add", ANYCAST.getHostAddress() + "/32", "dev", "lo");
            nft(node, """
                    table ip %s {
                      set sp { typeof %s; size 65535; flags dynamic; }
                      chain in { type filter hook input priority 0; ip daddr %s udp dport 4789 %s %d add @sp { %s }; }
                    }
                    """.formatted(TABLE, INNER_SOURCE_PORT, ANYCAST.getHostAddress(), INNER_DESTINATION_PORT, INNER_DESTINATION.getPort(),
                    INNER_SOURCE_PORT));
            startResponder(i);
        }
        ip(sender, "link", "add", "vx0", "address", "02:00:00:00:00:02", "type", "vxlan", "id", "100", "local", SENDER.getHostAddress(),
                "remote", ANYCAST.getHostAddress(), "dstport", "4789", "nolearning");
        if (!inner.equals(sender)) {
            ip(sender, "link", "set", "vx0", "netns", inner);
        }
        Commands.check(Namespaces.execIn(inner, List.of("sysctl", "-qw", "net.ipv6.conf.vx0.disable_ipv6=1")));
        ip(inner, "addr", "add", INNER_SOURCE + "/24", "dev", "vx0");
        ip(inner, "link", "set", "vx0", "up");
        ip(inner, "neigh", "add", INNER_DESTINATION.getAddress().getHostAddress(), "lladdr", "02:00:00:00:00:01", "dev", "vx0",
                "nud", "permanent");
        nft(inner, """
                table ip %s {
                  chain out { type filter hook output priority 0; oifname "vx0" meta mark set 0x1; }
                }
                """.formatted(TABLE));
    }

    private void attach(String ns, String port, Inet4Address address) {
        ip(underlay, "link", "add", port, "type", "veth", "peer", "name", "ul0", "netns", ns);
        ip(underlay, "link", "set", port, "master", "br0", "up");
        Commands.check(Namespaces.execIn(ns, List.of("sysctl", "-qw", "net.ipv6.conf.ul0.disable_ipv6=1")));
        ip(ns, "addr", "add", address.getHostAddress() + "/24", "dev", "ul0");
        ip(ns, "link", "set", "ul0", "up");
    }

    ResilientNexthopGroup.Settings groupSettings() {
        return ResilientNexthopGroup.Settings.of(sender, "ul0", ANYCAST, GROUP_ID);
    }

    static InetSocketAddress probeTarget(Inet4Address node) {
        return new InetSocketAddress(node, PROBE_PORT);
    }

    /** The node dies: its responder stops answering at once, then its underlay link goes down (no VXLAN reaches it either). */
    void kill(int node) throws IOException {
        responders.remove(NODES.get(node)).close();
        ip(nodes.get(node), "link", "set", "ul0", "down");
    }

    /** Stops answering probes only: the instant a kill is timed from. */
    void silence(int node) throws IOException {
        responders.remove(NODES.get(node)).close();
    }

    void cutLink(int node) {
        ip(nodes.get(node), "link", "set", "ul0", "down");
    }

    /** The node is back: link up, answering probes. */
    void revive(int node) throws IOException {
        ip(nodes.get(node), "link", "set", "ul0", "up");
        if (!responders.containsKey(NODES.get(node))) {
            startResponder(node);
        }
    }

    private void startResponder(int node) throws IOException {
        Inet4Address address = NODES.get(node);
        responders.put(address, UdpProbeResponder.start(nodes.get(node), probeTarget(address)));
    }

    /** One datagram of each inner flow: inner source ports {@code first .. first+count-1}, through vx0. */
    void send(int first, int count) throws IOException {
        NetworkNamespace.call(inner, () -> {
            ByteBuffer payload = ByteBuffer.allocate(16);
            for (int port = first; port < first + count; port++) {
                try (DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)) {
                    channel.bind(new InetSocketAddress(INNER_SOURCE, port));
                    channel.send(payload.clear(), INNER_DESTINATION);
                }
            }
            return null;
        });
    }

    /** The inner source ports each node has seen since the last {@link #forget}. */
    List<Set<Integer>> landed() {
        List<Set<Integer>> all = new ArrayList<>();
        for (String node : nodes) {
            String json = Commands.check(Namespaces.execIn(node, List.of("nft", "-j", "list", "set", "ip", TABLE, "sp"))).stdout();
            Set<Integer> ports = new TreeSet<>();
            Matcher m = ELEMENTS.matcher(json);
            if (m.find()) {
                for (String e : m.group(1).split(",")) {
                    if (!e.isBlank()) {
                        ports.add(Integer.parseInt(e.strip()));
                    }
                }
            }
            all.add(ports);
        }
        return all;
    }

    void forget() {
        for (String node : nodes) {
            Commands.check(Namespaces.execIn(node, List.of("nft", "flush", "set", "ip", TABLE, "sp")));
        }
    }

    /** The group's buckets per member id ({@code ip nexthop bucket show}). */
    Map<Integer, Integer> buckets() {
        String out = Commands.check(Namespaces.ipIn(sender, "nexthop", "bucket", "show", "id", String.valueOf(GROUP_ID))).stdout();
        Map<Integer, Integer> counts = new HashMap<>();
        Matcher m = Pattern.compile("nhid (\\d+)").matcher(out);
        while (m.find()) {
            counts.merge(Integer.parseInt(m.group(1)), 1, Integer::sum);
        }
        return counts;
    }

    /** {@code ip nexthop show} and the destination's route in the sender, as printed. */
    String senderRouting() {
        return Commands.check(Namespaces.ipIn(sender, "nexthop", "show")).stdout()
                + Commands.check(Namespaces.ipIn(sender, "route", "show", ANYCAST.getHostAddress() + "/32")).stdout();
    }

    private static void ip(String ns, String... args) {
        Commands.check(Namespaces.ipIn(ns, args));
    }

    private static void nft(String ns, String rules) {
        var result = Commands.run(Commands.DEFAULT_TIMEOUT, Namespaces.execIn(ns, List.of("nft", "-f", "-")), rules);
        if (!result.ok()) {
            throw new IllegalStateException("nft in " + ns + ": " + result.stderr());
        }
    }

    /** Stops the responders and deletes every namespace this made, by exact name; safe to call twice. */
    @Override
    public void close() {
        responders.values().forEach(r -> {
            try {
                r.close();
            } catch (IOException e) {
                // the namespace goes next; its socket with it
            }
        });
        responders.clear();
        for (String ns : made.reversed()) {
            Namespaces.delete(ns);
        }
        made.clear();
    }
}
