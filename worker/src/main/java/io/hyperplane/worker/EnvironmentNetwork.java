package io.hyperplane.worker;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.NetworkNamespace;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * An environment's network: its namespace, whose only interface is a VXLAN device with the
 * environment's own VNI (created in the worker host's namespace, next to the underlay, then moved
 * in), its address in 100.64.0.0/10 ({@link EnvironmentAddresses}) and the default route via the gateway every forwarder node
 * answers; and the namespace's limit on Runtime API connections ({@link RuntimeApiConnectionLimit}).
 * <p>Built in two steps. A {@link Slot} is prepared ahead of need: namespace, VNI (registered with
 * the control plane without an ENI, so no node forwards for it yet) and tunnel. A cold start then
 * only <em>binds</em> a slot to the function's ENI and waits until every live node runs a
 * configuration that has it — the environment's first packet is never dropped as unknown.
 */
record EnvironmentNetwork(String namespace, int vni, String ip, String mac, String eniId, String legacyEniId) {
    static final String GATEWAY = "100.64.0.1";
    private static final String DEVICE = "eth0";
    /**
     * A non-zero mark on what leaves into the tunnel: the VXLAN device then looks its route up per
     * packet instead of caching one per remote, so each inner flow's hash picks its node (research
     * §1c; the lookup runs before the device scrubs the mark on its way to the host namespace).
     */
    static final String MARK_RULES = """
            table ip hp-fleet {
              chain out { type filter hook output priority 0; oifname "%s" meta mark set 0x1; }
            }
            """.formatted(DEVICE);

    /** Keeps every TCP socket's hash, so every packet of a flow, retransmissions included, goes to the flow's node (per namespace). */
    static final String TX_REHASH_OFF = "net.core.txrehash=0";
    /** IPv6 in an environment's namespace: for every device there, and for those moved in later. */
    private static final List<Path> IPV6_OFF = List.of(Path.of("/proc/sys/net/ipv6/conf/all/disable_ipv6"),
            Path.of("/proc/sys/net/ipv6/conf/default/disable_ipv6"));

    /** A prepared network not yet bound to an ENI. */
    record Slot(long index, String namespace, int vni, String ip, String mac) {
    }

    /** Where a slot's preparation time goes: the namespace, the VNI registration, the tunnel device. */
    interface Steps {
        void record(double namespaceMs, double registerMs, double deviceMs);
    }

    static String mac(long index) {
        return String.format("02:ee:%02x:%02x:%02x:%02x", (index >> 24) & 0xff, (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff);
    }

    /**
     * Prepares a slot; the namespace is journaled before it exists. On a background thread
     * ({@link Commands#inBackgroundFromNow}) its processes run at nice 19.
     */
    static Slot prepare(WorkerSettings w, ControlPlane control, Journal journal, String namespace, long index, String ip, String nodeIp,
                        Steps steps) throws IOException, InterruptedException {
        String mac = mac(index);
        long t0 = System.nanoTime();
        journal.recordNamespace(namespace);
        run(List.of("ip", "netns", "add", namespace), null);
        ipv6Off(namespace);
        RuntimeApiConnectionLimit.load(namespace);
        long t1 = System.nanoTime();
        int vni = control.registerEnvironment(namespace, w.underlayIp(), ip, mac, null, false);
        long t2 = System.nanoTime();
        String device = "hp-e" + index;
        // To the fleet's anycast address: no "dev", or the kernel skips multipath and every flow goes to one node (research §1c).
        boolean anycast = FleetPlan.ANYCAST.equals(nodeIp);
        batch(w.hostNamespace(), List.of(
                "link add " + device + " address " + mac + " type vxlan id " + vni + " local " + w.underlayIp() + " remote " + nodeIp
                        + " dstport 4789" + (anycast ? "" : " dev " + HostFleet.UNDERLAY_DEVICE) + " nolearning",
                "link set " + device + " netns " + namespace));
        if (anycast) {
            nft(namespace, MARK_RULES);
            // Each flow's node is picked by its socket's hash, which TCP would re-draw on a timeout or a
            // retransmitted SYN (net.core.txrehash, default 1): the retry would land on a node without
            // its state (a second translation: reset by the peer; or a stall), exactly when a node has died.
            run(List.of("ip", "netns", "exec", namespace, "sysctl", "-qw", TX_REHASH_OFF), null);
        }
        run(List.of("ip", "netns", "exec", namespace, "ethtool", "-K", device, "tx", "off", "tso", "off", "gso", "off"), null);
        batch(namespace, List.of(
                "link set lo up",
                "link set " + device + " name " + DEVICE,
                "link set " + DEVICE + " mtu 1500 up",
                "address add " + ip + "/10 dev " + DEVICE,
                "route add default via " + GATEWAY));
        steps.record((t1 - t0) / 1e6, (t2 - t1) / 1e6, (System.nanoTime() - t2) / 1e6);
        return new Slot(index, namespace, vni, ip, mac);
    }

    /**
     * Turns IPv6 off in the environment's namespace, before its tunnel device moves in. The
     * platform forwards IPv4 only. With IPv6 on, the device's own IPv6 control frames (duplicate
     * address detection, router solicitations, MLD reports) went down the tunnel, and the node
     * dropped each and counted it malformed, a few hundred per node in the fleet test. Written from
     * a thread inside the namespace: /proc/sys/net is the writer's namespace's, and this takes no
     * process on the attach path.
     */
    private static void ipv6Off(String namespace) throws IOException {
        NetworkNamespace.call(namespace, () -> {
            for (Path setting : IPV6_OFF) {
                if (Files.exists(setting)) { // absent when the kernel runs without IPv6
                    Files.writeString(setting, "1");
                }
            }
            return null;
        });
    }

    /** Binds a slot to an ENI; returns once every live forwarder node runs it. */
    static EnvironmentNetwork bind(WorkerSettings w, ControlPlane control, Slot slot, String eniId, String legacyEniId)
            throws IOException, InterruptedException {
        int vni = control.registerEnvironment(slot.namespace(), w.underlayIp(), slot.ip(), slot.mac(), eniId, true);
        if (vni != slot.vni()) {
            throw new IOException("environment " + slot.namespace() + ": the control plane gave VNI " + vni + ", the tunnel has " + slot.vni());
        }
        return new EnvironmentNetwork(slot.namespace(), vni, slot.ip(), slot.mac(), eniId, legacyEniId);
    }

    /** Runs ip commands in one process ({@code ip -n NS -batch -}): one fork for the lot. */
    static void batch(String namespace, List<String> commands) throws IOException, InterruptedException {
        run(List.of("ip", "-n", namespace, "-batch", "-"), String.join("\n", commands) + "\n");
    }

    /** Loads an nftables ruleset inside the namespace ({@code ip netns exec NS nft -f -}): one transaction, one fork. */
    static void nft(String namespace, String ruleset) throws IOException, InterruptedException {
        run(List.of("ip", "netns", "exec", namespace, "nft", "-f", "-"), ruleset);
    }

    /**
     * Runs {@code command} (at nice 19 on a background thread, as {@link Commands} does) with
     * {@code input} on its standard input; throws with its output when it fails. The tunnel's
     * offloads are turned off with it too: the node must get complete inner checksums and no
     * 64 KB segments (a userspace VTEP sees what the kernel would otherwise leave to offload).
     */
    private static void run(List<String> command, String input) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Commands.asStarted(command)).redirectErrorStream(true).start();
        if (input != null) {
            p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + ": " + out.strip() + (input == null ? "" : " (input: " + input.strip().replace("\n", "; ") + ")"));
        }
    }
}
