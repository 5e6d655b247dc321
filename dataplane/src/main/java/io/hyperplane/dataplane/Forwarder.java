package io.hyperplane.dataplane;

import io.hyperplane.config.fabric.SystemRanges;
import io.hyperplane.dataplane.arp.NeighborTable;
import io.hyperplane.dataplane.arp.PendingResolutions;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.dataplane.counters.FlowCounts;
import io.hyperplane.dataplane.flow.FlowState;
import io.hyperplane.dataplane.flow.FlowTable;
import io.hyperplane.dataplane.flow.FlowTimeouts;
import io.hyperplane.dataplane.flow.NatPortAllocator;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.dataplane.policy.RouteTableRules;
import io.hyperplane.packet.ArpPacket;
import io.hyperplane.packet.Checksums;
import io.hyperplane.packet.EthernetHeader;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.IcmpHeader;
import io.hyperplane.packet.Ipv4Header;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.Malformation;
import io.hyperplane.packet.VxlanHeader;

import java.nio.ByteBuffer;

/**
 * The forwarding decision for one VXLAN datagram, DESIGN.md §3, with no knowledge of sockets:
 * bytes in, rewritten bytes out through a {@link PacketSink}. One instance per forwarding thread;
 * it owns its flow table and counters and is never called from two threads.
 * <pre>
 *   from an EE (VNI = EE)                          from the VPC (VNI = subnet)
 *   decap, anti-spoof (host, MAC, inner source)    decap, outer source = the subnet's VTEP
 *   ARP for the EE gateway -> reply                ARP for an ENI address -> reply; learn next hops
 *   new flow: security-group egress               match a flow by (remote, ENI address, NAT port)
 *   NACL outbound, route (longest prefix)          NACL inbound
 *   NAT onto the ENI address and a port            reverse the rewrite (ICMP errors: inner header too)
 *   next-hop MAC (ARP over the tunnel)             MACs of the EE gateway and the EE
 *   re-encap: subnet VNI -> the VPC's VTEP         re-encap: EE VNI -> the EE's worker host
 * </pre>
 * Packets are rewritten in place: the datagram that leaves has the same length as the one that
 * arrived, so the caller can send the receive buffer itself. Checksums are updated incrementally
 * (RFC 1624). Nothing here allocates, logs, or locks.
 */
public final class Forwarder {

    /**
     * Where forwarded datagrams go. A send from the buffer given to {@link #process} refers to
     * that buffer; any other buffer (ARP requests, packets released after resolution) is reused
     * by the forwarder as soon as the call returns, so the sink must copy it.
     */
    public interface PacketSink {
        void send(ByteBuffer buffer, int offset, int length, int destinationIp, int destinationPort);
    }

    /**
     * Tunable sizes, intervals and quotas, with the defaults a node uses.
     *
     * @param neighborCapacity     next hops the node keeps in all
     * @param neighborsPerSubnet   next hops one subnet may hold: its share, so that a subnet answering
     *                             from thousands of addresses fills only its own (DESIGN.md §9)
     * @param eniFlowQuota         open flows per ENI
     * @param environmentFlowQuota open flows per execution environment
     * @param maxEnis              ENIs whose flows are counted at once
     * @param maxEnvironments      execution environments whose flows are counted at once
     */
    public record Settings(int flowCapacity, FlowTimeouts timeouts, int vxlanPort, int neighborCapacity, int neighborsPerSubnet,
                           int neighborTtlSeconds, int pendingResolutions, int arpRetrySeconds,
                           int arpGiveUpSeconds, int expiryBudget, int maxEnis, int maxEnvironments,
                           int eniFlowQuota, int environmentFlowQuota) {
        /**
         * One million flows. Deliberately not 2^20: the flow arrays would then be a power of two
         * plus the array header, which G1 stores as humongous objects spanning one region more
         * than they fill (measured: 87 instead of 59 heap bytes per flow).
         */
        public static final int DEFAULT_FLOW_CAPACITY = 1_000_000;
        /** AWS: a Hyperplane ENI supports up to 65,000 connections (aws-facts.md). */
        public static final int DEFAULT_ENI_FLOW_QUOTA = 65_000;
        /**
         * An environment has 1,024 descriptors (its sandbox's limit), so about as many TCP
         * connections; UDP to many peers from one socket takes more flows, hence four times that.
         */
        public static final int DEFAULT_ENVIRONMENT_FLOW_QUOTA = 4_096;
        /**
         * Next hops: 16,384 in all, 1,024 per subnet (an ENI's next hops in one subnet are the hosts
         * its functions talk to directly, and the router). ENIs and environments whose flows are
         * counted: 16,384 and 65,536. Fixed tables, about 3.5 MB together: sized so that they cost
         * little beside a million flows.
         */
        public static final Settings DEFAULTS = new Settings(DEFAULT_FLOW_CAPACITY, FlowTimeouts.DEFAULTS, VxlanHeader.UDP_PORT,
                16_384, 1_024, 60, 256, 1, 3, 4096, 16_384, 65_536, DEFAULT_ENI_FLOW_QUOTA, DEFAULT_ENVIRONMENT_FLOW_QUOTA);

        public Settings {
            if (flowCapacity < 1) {
                throw new IllegalArgumentException("flowCapacity " + flowCapacity + ": must be >= 1");
            }
            if (vxlanPort < 1 || vxlanPort > 65535) {
                throw new IllegalArgumentException("vxlanPort " + vxlanPort + ": must be 1..65535");
            }
            if (eniFlowQuota < 1 || environmentFlowQuota < 1) {
                throw new IllegalArgumentException("flow quotas " + eniFlowQuota + " per ENI, " + environmentFlowQuota
                        + " per execution environment: must be >= 1");
            }
            if (neighborCapacity < 1 || neighborsPerSubnet < 1) {
                throw new IllegalArgumentException("neighbors " + neighborCapacity + ", per subnet " + neighborsPerSubnet + ": must be >= 1");
            }
        }

        public Settings withFlowCapacity(int capacity) {
            return new Settings(capacity, timeouts, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota);
        }

        public Settings withTimeouts(FlowTimeouts t) {
            return new Settings(flowCapacity, t, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota);
        }

        public Settings withFlowQuotas(int perEni, int perEnvironment) {
            return new Settings(flowCapacity, timeouts, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, perEni, perEnvironment);
        }

        public Settings withNeighbors(int capacity, int perSubnet) {
            return new Settings(flowCapacity, timeouts, vxlanPort, capacity, perSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota);
        }
    }

    /**
     * What no EE may address, whatever a tenant's route table says (DESIGN.md §9): the underlay,
     * where nodes, VPC VTEPs and worker hosts live, and the EE range, where environments and their
     * gateway live.
     */
    private static final int UNDERLAY_NETWORK = SystemRanges.UNDERLAY.network();
    private static final int UNDERLAY_MASK = SystemRanges.UNDERLAY.mask();
    private static final int EE_NETWORK = SystemRanges.EXECUTION_ENVIRONMENTS.network();
    private static final int EE_MASK = SystemRanges.EXECUTION_ENVIRONMENTS.mask();
    /**
     * Neighbor slots the sweep visits each second: the default table (32,768 slots) is swept in
     * 4 s, so an entry outlives its 60 s by at most that, at a few µs of work a second.
     */
    private static final int NEIGHBOR_SWEEP_PER_SECOND = 8192;
    /**
     * How long before a next hop in use lapses the node asks it again (once per arpRetrySeconds):
     * ten chances for the answer to come back through a node that is queueing a burst, so the
     * entry is renewed before it expires and the next hop never goes dark (NeighborTable).
     */
    private static final int NEIGHBOR_REFRESH_SECONDS = 10;

    private static final int ETHERNET_MIN_FRAME = 60; // without FCS (IEEE 802.3)
    private static final int PENDING_SLOT_BYTES = 2048;
    private static final int ARP_FRAME_LENGTH = VxlanHeader.LENGTH + ETHERNET_MIN_FRAME;

    private final FrameDecoder d = new FrameDecoder();
    private final Settings settings;
    private final FlowTable flows;
    private final NatPortAllocator nat;
    private final Counters counters = new Counters();
    private final FlowCounts flowCounts;
    private final NeighborTable neighbors;
    private final PendingResolutions pending;
    private final FlowTable.ExpiryListener flowGone = this::flowGone;
    private final ByteBuffer arpScratch = ByteBuffer.allocateDirect(ARP_FRAME_LENGTH);
    private final VxlanHeader scratchVxlan = new VxlanHeader();
    private final EthernetHeader scratchEthernet = new EthernetHeader();
    private final ArpPacket scratchArp = new ArpPacket();

    private CompiledConfig config;
    private int now;

    public Forwarder(Settings settings) {
        this.settings = settings;
        flows = new FlowTable(settings.flowCapacity());
        nat = new NatPortAllocator(flows, this::portReclaimed);
        flowCounts = new FlowCounts(settings.maxEnis(), settings.maxEnvironments());
        neighbors = new NeighborTable(settings.neighborCapacity(), settings.neighborsPerSubnet(), settings.neighborTtlSeconds(),
                Math.min(NEIGHBOR_REFRESH_SECONDS, settings.neighborTtlSeconds()), settings.arpRetrySeconds());
        pending = new PendingResolutions(settings.pendingResolutions(), PENDING_SLOT_BYTES);
    }

    /** Installs a new configuration. Call on the forwarding thread, between packets. */
    public void config(CompiledConfig newConfig) {
        config = newConfig;
        counters.set(Counter.CONFIG_VERSION, newConfig.version());
        counters.increment(Counter.CONFIG_APPLIED);
    }

    public CompiledConfig config() {
        return config;
    }

    /**
     * Advances time to {@code nowSeconds} (any monotonic origin) and does bounded timer work:
     * expiring flows and giving up on unanswered ARP. Call once per duty cycle, before processing.
     */
    public void tick(int nowSeconds, PacketSink out) {
        if (nowSeconds != now) {
            now = nowSeconds;
            expirePending();
            counters.add(Counter.ARP_ENTRIES_EXPIRED, neighbors.expire(now, NEIGHBOR_SWEEP_PER_SECOND));
        }
        flows.expire(now, settings.expiryBudget(), flowGone);
        counters.set(Counter.FLOWS_ACTIVE, flows.size());
    }

    /** Starts the clock; call once before the first {@link #process} when time does not start at 0. */
    public void startClock(int nowSeconds) {
        now = nowSeconds;
        flows.startClock(nowSeconds);
    }

    /** Decides the fate of one VXLAN payload received from {@code outerSource} (the sending VTEP). */
    public void process(ByteBuffer buffer, int offset, int length, int outerSource, PacketSink out) {
        counters.increment(Counter.RECEIVED);
        Malformation m = d.decode(buffer, offset, length);
        if (m != Malformation.NONE) {
            counters.malformed(m);
            return;
        }
        CompiledConfig c = config;
        if (c == null) {
            counters.increment(Counter.DROP_UNKNOWN_VNI);
            return;
        }
        int vni = d.vxlan.vni();
        int ee = c.eeByVni(vni);
        if (ee != CompiledConfig.NONE) {
            fromExecutionEnvironment(c, ee, vni, outerSource, length, out);
            return;
        }
        int subnet = c.subnetByVni(vni);
        if (subnet != CompiledConfig.NONE) {
            fromVpc(c, subnet, vni, outerSource, length, out);
            return;
        }
        counters.increment(Counter.DROP_UNKNOWN_VNI);
    }

    // ---- EE -> VPC ------------------------------------------------------------------------------

    private void fromExecutionEnvironment(CompiledConfig c, int ee, int vni, int outerSource, int length, PacketSink out) {
        // Anti-spoofing (DESIGN §3.2): the tunnel must come from the EE's own host, the frame from its MAC.
        if (outerSource != c.eeHost(ee) || d.ethernet.source() != c.eeMac(ee)) {
            counters.increment(Counter.DROP_SPOOF);
            return;
        }
        if (d.etherType() == EthernetHeader.TYPE_ARP) {
            gatewayArp(c, ee, length, out);
            return;
        }
        Ipv4Header ip = d.ip;
        int eeIp = c.eeIp(ee);
        if (ip.source() != eeIp) {
            counters.increment(Counter.DROP_SPOOF);
            return;
        }
        int proto = d.protocol();
        int eePort;
        int remotePort;
        int portOrType;
        int icmpCode = 0;
        int tcpFlags = 0;
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> {
                eePort = d.tcp.sourcePort();
                remotePort = d.tcp.destinationPort();
                portOrType = remotePort;
                tcpFlags = d.tcp.flags();
            }
            case Ipv4Header.PROTOCOL_UDP -> {
                eePort = d.udp.sourcePort();
                remotePort = d.udp.destinationPort();
                portOrType = remotePort;
            }
            case Ipv4Header.PROTOCOL_ICMP -> {
                // Only echo requests open flows; nothing else an EE sends can belong to one.
                if (d.icmp.type() != IcmpHeader.ECHO_REQUEST) {
                    counters.increment(Counter.DROP_NO_FLOW);
                    return;
                }
                eePort = d.icmp.identifier();
                remotePort = 0;
                portOrType = IcmpHeader.ECHO_REQUEST;
                icmpCode = d.icmp.code();
            }
            default -> {
                counters.increment(Counter.DROP_UNSUPPORTED_PROTOCOL);
                return;
            }
        }
        int destination = ip.destination();
        if ((destination & UNDERLAY_MASK) == UNDERLAY_NETWORK || (destination & EE_MASK) == EE_NETWORK) {
            counters.increment(Counter.DROP_RESERVED_DESTINATION);
            return;
        }
        int eni = c.eeEni(ee);
        int subnet = c.eniSubnet(eni);
        int eniIp = c.eniIp(eni);
        int eniVni = c.subnetVni(subnet);
        // An EE reaches the VPC through its own ENI only: never an ENI address of its VPC (its own
        // or another function's), which would let EEs reach each other through the node.
        if (c.eniInVpc(c.subnetVpc(subnet), destination) != CompiledConfig.NONE) {
            counters.increment(Counter.DROP_NO_ROUTE);
            return;
        }
        if (ip.ttl() <= 1) {
            counters.increment(Counter.DROP_TTL_EXCEEDED);
            return;
        }
        int flow = flows.findForward(vni, proto, eePort, destination, remotePort);
        boolean reopening = flow != FlowTable.NONE && proto == Ipv4Header.PROTOCOL_TCP
                && FlowState.isReclaimable(flows.state(flow)) && FlowState.isOpeningSyn(tcpFlags);
        if (flow == FlowTable.NONE || reopening) {
            if (proto == Ipv4Header.PROTOCOL_TCP && !FlowState.isOpeningSyn(tcpFlags)) {
                counters.increment(Counter.DROP_NO_FLOW); // mid-stream segment of no known connection
                return;
            }
            if (!c.eniEgress(eni).allows(proto, destination, portOrType, icmpCode)) {
                counters.increment(Counter.DROP_SG_DENY);
                return;
            }
            if (flowCounts.openInEnvironment(vni) >= settings.environmentFlowQuota()
                    || flowCounts.openOnEni(FlowCounts.eniKey(eniVni, eniIp)) >= settings.eniFlowQuota()) {
                counters.increment(Counter.DROP_FLOW_QUOTA);
                return;
            }
        }
        if (!c.subnetAcl(subnet).allowsEgress(proto, destination, portOrType, icmpCode)) {
            counters.increment(Counter.DROP_NACL_DENY);
            return;
        }
        if (c.subnetRoutes(subnet).lookup(destination) != RouteTableRules.LOCAL) {
            counters.increment(Counter.DROP_NO_ROUTE); // no route, a blackhole, or a target not served yet
            return;
        }
        if (flow == FlowTable.NONE) {
            int natPort = nat.allocate(eniVni, eniIp, proto, destination, remotePort, eePort);
            if (natPort == NatPortAllocator.EXHAUSTED) {
                counters.increment(Counter.DROP_PORT_EXHAUSTION);
                return;
            }
            long eniKey = FlowCounts.eniKey(eniVni, eniIp);
            if (!flowCounts.opened(eniKey, vni)) {
                counters.increment(Counter.DROP_FLOW_QUOTA); // more owners with open flows than the node counts
                return;
            }
            byte state = proto == Ipv4Header.PROTOCOL_TCP ? FlowState.TCP_SYN_SENT
                    : proto == Ipv4Header.PROTOCOL_UDP ? FlowState.UDP_UNREPLIED : FlowState.ICMP;
            flow = flows.insert(vni, proto, eePort, destination, remotePort, eniVni, eniIp, natPort, state,
                    now + FlowState.timeoutSeconds(state, settings.timeouts()));
            if (flow == FlowTable.NONE) {
                flowCounts.closed(eniKey, vni);
                counters.increment(Counter.DROP_FLOW_TABLE_FULL);
                return;
            }
            flowCounts.portTaken(eniKey);
            counters.increment(Counter.FLOWS_CREATED);
        } else if (reopening) {
            changeState(flow, FlowState.TCP_SYN_SENT);
            flows.expiresAt(flow, now + settings.timeouts().tcpSynSent());
        } else {
            track(flow, proto, tcpFlags, true);
        }

        int natPort = flows.natPort(flow);
        ip.rewriteSource(eniIp);
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> d.tcp.pseudoHeaderAddressChanged(eeIp, eniIp).rewriteSourcePort(natPort);
            case Ipv4Header.PROTOCOL_UDP -> d.udp.pseudoHeaderAddressChanged(eeIp, eniIp).rewriteSourcePort(natPort);
            default -> d.icmp.rewriteIdentifier(natPort);
        }
        ip.decrementTtl();
        int nextHop = c.subnetContains(subnet, destination) ? destination : c.subnetGateway(subnet);
        toVpc(c, eni, subnet, nextHop, length, out);
    }

    private void gatewayArp(CompiledConfig c, int ee, int length, PacketSink out) {
        ArpPacket arp = d.arp;
        if (arp.senderIp() != c.eeIp(ee) || arp.senderMac() != c.eeMac(ee)) {
            counters.increment(Counter.DROP_SPOOF);
            return;
        }
        if (arp.operation() != ArpPacket.REQUEST || arp.targetIp() != c.gatewayIp()) {
            counters.increment(Counter.DROP_ARP_IGNORED);
            return;
        }
        replyToArp(c.gatewayMac(), c.gatewayIp());
        out.send(d.buffer(), d.offset(), length, c.eeHost(ee), settings.vxlanPort());
        counters.increment(Counter.ARP_REPLIES_SENT);
    }

    private void toVpc(CompiledConfig c, int eni, int subnet, int nextHop, int length, PacketSink out) {
        int subnetVni = c.subnetVni(subnet);
        d.vxlan.vni(subnetVni);
        d.ethernet.source(c.eniMac(eni));
        long mac = neighbors.lookup(subnetVni, nextHop, now);
        if (mac == NeighborTable.MISSING) {
            holdAndResolve(c, eni, subnetVni, nextHop, c.subnetVtep(subnet), length, out);
            return;
        }
        d.ethernet.destination(mac);
        out.send(d.buffer(), d.offset(), length, c.subnetVtep(subnet), settings.vxlanPort());
        counters.increment(Counter.FORWARDED);
        counters.increment(Counter.FORWARDED_TO_VPC);
        if (neighbors.refreshDue(now)) {
            // After the packet: the request goes through arpScratch, never the packet's own bytes.
            // Unicast to the MAC we have, as a poll (RFC 1122 §2.3.2.1).
            sendArpRequest(c, eni, subnetVni, nextHop, c.subnetVtep(subnet), mac, out);
        }
    }

    private void holdAndResolve(CompiledConfig c, int eni, int subnetVni, int nextHop, int vtep, int length, PacketSink out) {
        int slot = pending.acquire(subnetVni, nextHop, now);
        if (pending.evictedHeldPacket()) {
            counters.increment(Counter.DROP_ARP_UNRESOLVED);
        }
        if (pending.hold(slot, d.buffer(), d.offset(), length, vtep)) {
            counters.increment(Counter.DROP_ARP_UNRESOLVED);
        }
        if (pending.shouldRequest(slot, now, settings.arpRetrySeconds())) {
            sendArpRequest(c, eni, subnetVni, nextHop, vtep, MacAddress.BROADCAST, out);
        }
    }

    /** An ARP request from the ENI for {@code nextHop}, to {@code destinationMac} (broadcast to resolve, unicast to refresh). */
    private void sendArpRequest(CompiledConfig c, int eni, int subnetVni, int nextHop, int vtep, long destinationMac, PacketSink out) {
        arpScratch.clear();
        for (int i = 0; i < ARP_FRAME_LENGTH; i++) {
            arpScratch.put(i, (byte) 0);
        }
        scratchVxlan.wrap(arpScratch, 0);
        scratchVxlan.set(subnetVni);
        scratchEthernet.wrap(arpScratch, FrameDecoder.ETHERNET_OFFSET);
        scratchEthernet.destination(destinationMac).source(c.eniMac(eni)).type(EthernetHeader.TYPE_ARP);
        scratchArp.wrap(arpScratch, FrameDecoder.L3_OFFSET);
        scratchArp.set(ArpPacket.REQUEST, c.eniMac(eni), c.eniIp(eni), 0L, nextHop);
        out.send(arpScratch, 0, ARP_FRAME_LENGTH, vtep, settings.vxlanPort());
        counters.increment(Counter.ARP_REQUESTS_SENT);
    }

    // ---- VPC -> EE ------------------------------------------------------------------------------

    private void fromVpc(CompiledConfig c, int subnet, int vni, int outerSource, int length, PacketSink out) {
        if (outerSource != c.subnetVtep(subnet)) {
            counters.increment(Counter.DROP_SPOOF);
            return;
        }
        if (d.etherType() == EthernetHeader.TYPE_ARP) {
            vpcArp(c, subnet, vni, length, out);
            return;
        }
        Ipv4Header ip = d.ip;
        int eniIp = ip.destination();
        if (c.eniByAddress(vni, eniIp) == CompiledConfig.NONE) {
            counters.increment(Counter.DROP_NO_FLOW);
            return;
        }
        int proto = d.protocol();
        int remote = ip.source();
        int flow;
        int portOrType;
        int icmpCode = 0;
        int tcpFlags = 0;
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> {
                portOrType = d.tcp.destinationPort();
                flow = flows.findReverse(proto, remote, d.tcp.sourcePort(), vni, eniIp, portOrType);
                tcpFlags = d.tcp.flags();
            }
            case Ipv4Header.PROTOCOL_UDP -> {
                portOrType = d.udp.destinationPort();
                flow = flows.findReverse(proto, remote, d.udp.sourcePort(), vni, eniIp, portOrType);
            }
            case Ipv4Header.PROTOCOL_ICMP -> {
                if (d.icmp.isError()) {
                    icmpErrorFromVpc(c, subnet, vni, eniIp, remote, length, out);
                    return;
                }
                if (d.icmp.type() != IcmpHeader.ECHO_REPLY) {
                    counters.increment(Counter.DROP_NO_FLOW); // nothing may open a flow toward an EE
                    return;
                }
                portOrType = IcmpHeader.ECHO_REPLY;
                icmpCode = d.icmp.code();
                flow = flows.findReverse(proto, remote, 0, vni, eniIp, d.icmp.identifier());
            }
            default -> {
                counters.increment(Counter.DROP_UNSUPPORTED_PROTOCOL);
                return;
            }
        }
        if (flow == FlowTable.NONE) {
            counters.increment(Counter.DROP_NO_FLOW);
            return;
        }
        if (!c.subnetAcl(subnet).allowsIngress(proto, remote, portOrType, icmpCode)) {
            counters.increment(Counter.DROP_NACL_DENY);
            return;
        }
        int ee = c.eeByVni(flows.vni(flow));
        if (ee == CompiledConfig.NONE) {
            counters.increment(Counter.DROP_NO_FLOW); // the EE is gone; its flows wait out their timers
            return;
        }
        if (ip.ttl() <= 1) {
            counters.increment(Counter.DROP_TTL_EXCEEDED);
            return;
        }
        track(flow, proto, tcpFlags, false);
        int eeIp = c.eeIp(ee);
        int eePort = flows.eePort(flow);
        ip.rewriteDestination(eeIp);
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> d.tcp.pseudoHeaderAddressChanged(eniIp, eeIp).rewriteDestinationPort(eePort);
            case Ipv4Header.PROTOCOL_UDP -> d.udp.pseudoHeaderAddressChanged(eniIp, eeIp).rewriteDestinationPort(eePort);
            default -> d.icmp.rewriteIdentifier(eePort);
        }
        ip.decrementTtl();
        toExecutionEnvironment(c, ee, flows.vni(flow), length, out);
    }

    /**
     * An ICMP error about a packet we translated (RFC 5508 §4.2): find the flow from the embedded
     * header, then rewrite the outer destination and the embedded source address and port, keeping
     * the embedded IP checksum, the embedded transport checksum (when present) and the ICMP
     * checksum right, each incrementally.
     */
    private void icmpErrorFromVpc(CompiledConfig c, int subnet, int vni, int eniIp, int remote, int length, PacketSink out) {
        Malformation m = d.decodeIcmpError();
        if (m != Malformation.NONE) {
            counters.malformed(m);
            return;
        }
        Ipv4Header inner = d.embeddedIp;
        if (inner.source() != eniIp) {
            counters.increment(Counter.DROP_NO_FLOW);
            return;
        }
        ByteBuffer b = d.buffer();
        int innerProto = inner.protocol();
        int innerL4 = d.embeddedL4Offset();
        int icmpEnd = d.l4Offset() + d.l4Length();
        int natPortAt;
        int remotePort;
        int innerChecksumAt;
        switch (innerProto) {
            case Ipv4Header.PROTOCOL_TCP -> {
                natPortAt = innerL4;
                remotePort = u16(b, innerL4 + 2);
                innerChecksumAt = innerL4 + 16 + 2 <= icmpEnd ? innerL4 + 16 : -1;
            }
            case Ipv4Header.PROTOCOL_UDP -> {
                natPortAt = innerL4;
                remotePort = u16(b, innerL4 + 2);
                innerChecksumAt = u16(b, innerL4 + 6) != 0 ? innerL4 + 6 : -1;
            }
            case Ipv4Header.PROTOCOL_ICMP -> {
                if ((b.get(innerL4) & 0xff) != IcmpHeader.ECHO_REQUEST) {
                    counters.increment(Counter.DROP_NO_FLOW);
                    return;
                }
                natPortAt = innerL4 + IcmpHeader.IDENTIFIER_OFFSET;
                remotePort = 0;
                innerChecksumAt = innerL4 + IcmpHeader.CHECKSUM_OFFSET;
            }
            default -> {
                counters.increment(Counter.DROP_NO_FLOW);
                return;
            }
        }
        int natPort = u16(b, natPortAt);
        int flow = flows.findReverse(innerProto, inner.destination(), remotePort, vni, eniIp, natPort);
        if (flow == FlowTable.NONE) {
            counters.increment(Counter.DROP_NO_FLOW);
            return;
        }
        if (!c.subnetAcl(subnet).allowsIngress(Ipv4Header.PROTOCOL_ICMP, remote, d.icmp.type(), d.icmp.code())) {
            counters.increment(Counter.DROP_NACL_DENY);
            return;
        }
        int ee = c.eeByVni(flows.vni(flow));
        if (ee == CompiledConfig.NONE) {
            counters.increment(Counter.DROP_NO_FLOW);
            return;
        }
        if (d.ip.ttl() <= 1) {
            counters.increment(Counter.DROP_TTL_EXCEEDED);
            return;
        }
        int eeIp = c.eeIp(ee);
        int eePort = flows.eePort(flow);
        int icmpSum = d.icmp.checksum();

        int oldInnerIpSum = inner.checksum();
        inner.rewriteSource(eeIp);
        icmpSum = Checksums.update32(icmpSum, eniIp, eeIp);
        icmpSum = Checksums.update16(icmpSum, oldInnerIpSum, inner.checksum());

        b.putShort(natPortAt, (short) eePort);
        icmpSum = Checksums.update16(icmpSum, natPort, eePort);
        if (innerChecksumAt >= 0) {
            int oldSum = u16(b, innerChecksumAt);
            int newSum = Checksums.update16(oldSum, natPort, eePort);
            if (innerProto != Ipv4Header.PROTOCOL_ICMP) {
                newSum = Checksums.update32(newSum, eniIp, eeIp); // the pseudo-header address
            }
            b.putShort(innerChecksumAt, (short) newSum);
            icmpSum = Checksums.update16(icmpSum, oldSum, newSum);
        }
        d.icmp.checksum(icmpSum);
        d.ip.rewriteDestination(eeIp);
        d.ip.decrementTtl();
        toExecutionEnvironment(c, ee, flows.vni(flow), length, out);
    }

    private void vpcArp(CompiledConfig c, int subnet, int vni, int length, PacketSink out) {
        ArpPacket arp = d.arp;
        int target = arp.targetIp();
        int eni = c.eniByAddress(vni, target);
        if (eni == CompiledConfig.NONE) {
            counters.increment(Counter.DROP_ARP_IGNORED); // flooded ARP about other hosts
            return;
        }
        int sender = arp.senderIp();
        long senderMac = arp.senderMac();
        // Learn only from ARP addressed to our ENIs (as Linux does without arp_accept), and only
        // addresses of this subnet: a request for us or the answer to our own request.
        if (c.subnetContains(subnet, sender) && !MacAddress.isMulticast(senderMac) && senderMac != 0) {
            switch (neighbors.learn(vni, sender, senderMac, now)) {
                case NEW -> counters.increment(Counter.ARP_ENTRIES_LEARNED);
                case REFRESHED -> { }
                case TABLE_FULL, NETWORK_FULL -> counters.increment(Counter.ARP_LEARN_REFUSED);
            }
            releaseHeld(vni, sender, senderMac, out);
        }
        if (arp.operation() == ArpPacket.REQUEST) {
            replyToArp(c.eniMac(eni), target);
            out.send(d.buffer(), d.offset(), length, c.subnetVtep(subnet), settings.vxlanPort());
            counters.increment(Counter.ARP_REPLIES_SENT);
        }
    }

    private void releaseHeld(int vni, int ip, long mac, PacketSink out) {
        int slot = pending.find(vni, ip);
        if (slot == PendingResolutions.NONE) {
            return;
        }
        if (pending.length(slot) > 0) {
            ByteBuffer storage = pending.storage();
            int at = pending.offset(slot);
            scratchEthernet.wrap(storage, at + FrameDecoder.ETHERNET_OFFSET);
            scratchEthernet.destination(mac);
            out.send(storage, at, pending.length(slot), pending.vtep(slot), settings.vxlanPort());
            counters.increment(Counter.FORWARDED);
            counters.increment(Counter.FORWARDED_TO_VPC);
        }
        pending.release(slot);
    }

    private void expirePending() {
        for (int i = 0; i < pending.slots(); i++) {
            if (pending.isUsed(i) && now - pending.createdAt(i) >= settings.arpGiveUpSeconds()) {
                if (pending.length(i) > 0) {
                    counters.increment(Counter.DROP_ARP_UNRESOLVED);
                }
                pending.release(i);
            }
        }
    }

    // ---- shared ---------------------------------------------------------------------------------

    private void toExecutionEnvironment(CompiledConfig c, int ee, int eeVni, int length, PacketSink out) {
        d.vxlan.vni(eeVni);
        d.ethernet.source(c.gatewayMac()).destination(c.eeMac(ee));
        out.send(d.buffer(), d.offset(), length, c.eeHost(ee), settings.vxlanPort());
        counters.increment(Counter.FORWARDED);
        counters.increment(Counter.FORWARDED_TO_EE);
    }

    /** Turns the decoded ARP request into our reply, in place: same VNI, back to the asker. */
    private void replyToArp(long ourMac, int ourIp) {
        ArpPacket arp = d.arp;
        long askerMac = arp.senderMac();
        int askerIp = arp.senderIp();
        d.ethernet.destination(askerMac).source(ourMac);
        arp.set(ArpPacket.REPLY, ourMac, ourIp, askerMac, askerIp);
    }

    private void track(int flow, int proto, int tcpFlags, boolean fromEe) {
        byte state = flows.state(flow);
        byte next = state;
        if (proto == Ipv4Header.PROTOCOL_TCP) {
            next = FlowState.tcp(state, tcpFlags, fromEe);
        } else if (proto == Ipv4Header.PROTOCOL_UDP && !fromEe) {
            next = FlowState.UDP_REPLIED;
        }
        if (next != state) {
            changeState(flow, next);
        }
        flows.expiresAt(flow, now + FlowState.timeoutSeconds(next, settings.timeouts()));
    }

    /** Every state change of a tracked flow: a flow finishing or reopening leaves or rejoins its owners' open flows. */
    private void changeState(int flow, byte next) {
        boolean wasOpen = !FlowState.isReclaimable(flows.state(flow));
        boolean open = !FlowState.isReclaimable(next);
        flows.state(flow, next);
        if (wasOpen != open) {
            long eniKey = FlowCounts.eniKey(flows.eniVni(flow), flows.eniIp(flow));
            if (open) {
                flowCounts.opened(eniKey, flows.vni(flow)); // a reopening SYN was let through the quota check
            } else {
                flowCounts.closed(eniKey, flows.vni(flow));
            }
        }
    }

    private void flowGone(int flow) {
        long eniKey = FlowCounts.eniKey(flows.eniVni(flow), flows.eniIp(flow));
        if (!FlowState.isReclaimable(flows.state(flow))) {
            flowCounts.closed(eniKey, flows.vni(flow));
        }
        flowCounts.portReleased(eniKey);
        counters.increment(Counter.FLOWS_EXPIRED);
    }

    private void portReclaimed(int flow) {
        flowGone(flow);
        counters.increment(Counter.NAT_PORTS_STOLEN);
    }

    private static int u16(ByteBuffer b, int at) {
        return b.getShort(at) & 0xffff;
    }

    // ---- inspection -----------------------------------------------------------------------------

    public Counters counters() {
        return counters;
    }

    public FlowCounts flowCounts() {
        return flowCounts;
    }

    public NeighborTable neighbors() {
        return neighbors;
    }

    public FlowTable flows() {
        return flows;
    }

    public Settings settings() {
        return settings;
    }
}
