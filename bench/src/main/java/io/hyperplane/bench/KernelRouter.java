package io.hyperplane.bench;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.lab.Lab;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.packet.Ipv4Cidr;
import io.hyperplane.packet.Ipv4Address;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The baseline: the Linux kernel doing the forwarder node's job in the node's namespace, from the
 * same snapshot our node would get. One kernel VXLAN device per EE (answering ARP for the EE
 * gateway) and one for the ENI's subnet (holding the ENI's address and MAC), IP forwarding, and
 * nftables masquerade onto the ENI address. The underlay's VXLAN datagrams themselves are
 * {@code notrack}ed, so conntrack sees only the inner flows, as our node does.
 * It enforces no security group or ACL: the kernel row is the cost of tunnel + route + NAT alone.
 */
final class KernelRouter {
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
    private static final String TABLE = "hp_bench";

    private KernelRouter() {
    }

    static void configure(Lab lab, String nodeNamespace, String nodeUnderlayIp, NodeSnapshot s) throws IOException {
        String underlay = deviceWithAddress(lab, nodeNamespace, nodeUnderlayIp);
        NodeSnapshot.Eni eni = s.enis().getFirst();
        NodeSnapshot.Subnet subnet = s.subnets().stream().filter(x -> x.id().equals(eni.subnetId())).findFirst().orElseThrow();
        NodeSnapshot.Vpc vpc = s.vpcs().stream().filter(v -> v.id().equals(subnet.vpcId())).findFirst().orElseThrow();
        List<List<String>> commands = new ArrayList<>();
        commands.add(List.of("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"
                + " && echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter && echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter"));
        for (NodeSnapshot.ExecutionEnvironment ee : s.executionEnvironments()) {
            String dev = "hp-k" + ee.vni();
            commands.add(vxlan(dev, ee.vni(), nodeUnderlayIp, ee.host(), underlay));
            commands.add(List.of("ip", "link", "set", dev, "address", s.eeGateway().mac(), "mtu", "1500", "up"));
            commands.add(List.of("ip", "addr", "add", s.eeGateway().ip() + "/32", "dev", dev));
            commands.add(List.of("ip", "route", "add", ee.ip() + "/32", "dev", dev));
        }
        String eniDev = "hp-k" + subnet.vni();
        Ipv4Cidr cidr = Ipv4Cidr.parse(subnet.cidr());
        commands.add(vxlan(eniDev, subnet.vni(), nodeUnderlayIp, subnet.vtep(), underlay));
        commands.add(List.of("ip", "link", "set", eniDev, "address", eni.mac(), "mtu", "1500", "up"));
        commands.add(List.of("ip", "addr", "add", eni.ip() + "/" + cidr.prefixLength(), "dev", eniDev));
        commands.add(List.of("ip", "route", "add", vpc.cidr(), "via", Ipv4Address.format(subnet.gatewayIp()), "dev", eniDev));
        for (List<String> command : commands) {
            run(lab, nodeNamespace, command);
        }
        String rules = """
                table ip %s {
                    chain underlay_prerouting {
                        type filter hook prerouting priority raw; policy accept;
                        udp dport 4789 notrack
                    }
                    chain underlay_output {
                        type filter hook output priority raw; policy accept;
                        udp dport 4789 notrack
                    }
                    chain postrouting {
                        type nat hook postrouting priority srcnat; policy accept;
                        oifname "%s" masquerade
                    }
                }
                """.formatted(TABLE, eniDev);
        run(lab, nodeNamespace, List.of("nft", "-f", "-"), rules);
    }

    /**
     * The kernel as the NAT gateway of the bench's NAT rows: the NAT gateway's address on the
     * subnet's device, so hosts route through it, and no ICMP redirects (the traffic leaves by the
     * device it came in on, and a redirect would send the hosts around the gateway). The
     * masquerade rule already covers what leaves that device.
     */
    static void configureNatGateway(Lab lab, String nodeNamespace, NodeSnapshot s, String natIp) {
        NodeSnapshot.Eni eni = s.enis().getFirst();
        NodeSnapshot.Subnet subnet = s.subnets().stream().filter(x -> x.id().equals(eni.subnetId())).findFirst().orElseThrow();
        String eniDev = "hp-k" + subnet.vni();
        run(lab, nodeNamespace, List.of("ip", "addr", "add", natIp + "/" + Ipv4Cidr.parse(subnet.cidr()).prefixLength(), "dev", eniDev));
        run(lab, nodeNamespace, List.of("sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects"
                + " && echo 0 > /proc/sys/net/ipv4/conf/" + eniDev + "/send_redirects"));
    }

    private static List<String> vxlan(String dev, int vni, String local, String remote, String underlay) {
        return List.of("ip", "link", "add", dev, "type", "vxlan", "id", String.valueOf(vni), "local", local,
                "remote", remote, "dstport", "4789", "dev", underlay, "nolearning");
    }

    static String deviceWithAddress(Lab lab, String namespace, String address) {
        ExecResult r = run(lab, namespace, List.of("ip", "-o", "-4", "addr", "show", "to", address));
        String[] fields = r.stdout().trim().split("\\s+");
        if (fields.length < 2) {
            throw new IllegalStateException("no device with " + address + " in " + namespace);
        }
        return fields[1];
    }

    private static ExecResult run(Lab lab, String namespace, List<String> command) {
        return run(lab, namespace, command, null);
    }

    /** {@code input}: the command's standard input, or null. */
    private static ExecResult run(Lab lab, String namespace, List<String> command, String input) {
        ExecResult r = lab.execWithInput(namespace, COMMAND_TIMEOUT, input, command.toArray(String[]::new));
        if (!r.ok()) {
            throw new IllegalStateException("kernel router: '" + String.join(" ", command) + "' in " + namespace
                    + " failed (exit " + r.exitCode() + "): " + r.stderr().strip());
        }
        return r;
    }

    /** Object size of one conntrack entry from /proc/slabinfo, or -1 when the kernel does not say. */
    static int conntrackEntryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/slabinfo"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[0].equals("nf_conntrack")) {
                    return Integer.parseInt(f[3]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
