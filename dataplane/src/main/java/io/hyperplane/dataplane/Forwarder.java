package io.hyperplane.dataplane;

import io.hyperplane.config.fabric.SystemRanges;
import io.hyperplane.dataplane.arp.NeighborTable;
import io.hyperplane.dataplane.arp.PendingResolutions;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.dataplane.counters.FlowCounts;
import io.hyperplane.dataplane.counters.NatGatewayCounters;
import io.hyperplane.dataplane.counters.NatGatewayMetric;
import io.hyperplane.dataplane.flow.FleetPeers;
import io.hyperplane.dataplane.flow.FlowReplication;
import io.hyperplane.dataplane.flow.FlowState;
import io.hyperplane.dataplane.flow.FlowTable;
import io.hyperplane.dataplane.flow.FlowTimeouts;
import io.hyperplane.dataplane.flow.NatPortAllocator;
import io.hyperplane.dataplane.flow.ThreadSteering;
import io.hyperplane.dataplane.policy.CompiledConfig;
import io.hyperplane.dataplane.policy.NetworkAclRules;
import io.hyperplane.dataplane.policy.PublicAddresses;
import io.hyperplane.dataplane.policy.RouteTableRules;
import io.hyperplane.dataplane.util.LongCountTable;
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
 *
 *   through a NAT gateway (VNI = its subnet, Ethernet destination = its MAC, IP destination elsewhere)
 *   NACL of its subnet in and out, route by its subnet's table, NAT onto its address and a port
 *   (at most natConnectionsPerDestination per destination), to the router or the destination;
 *   replies (IP destination = the NAT gateway) reversed and sent back to the source, via the router
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
     * @param natConnectionsPerDestination open connections a NAT gateway may have to one destination
     *                             (address, port, protocol); past it a new one counts ErrorPortAllocation
     * @param natDestinations      destinations of all NAT gateways whose connections are counted at once
     */
    public record Settings(int flowCapacity, FlowTimeouts timeouts, int vxlanPort, int neighborCapacity, int neighborsPerSubnet,
                           int neighborTtlSeconds, int pendingResolutions, int arpRetrySeconds,
                           int arpGiveUpSeconds, int expiryBudget, int maxEnis, int maxEnvironments,
                           int eniFlowQuota, int environmentFlowQuota, int natConnectionsPerDestination, int natDestinations) {
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
        /** AWS: a NAT gateway supports 55,000 simultaneous connections to each unique destination (aws-facts.md). */
        public static final int DEFAULT_NAT_CONNECTIONS_PER_DESTINATION = 55_000;
        /** Destinations counted at once across the node's NAT gateways: about 1.5 MB, a destination per 15 flows of capacity. */
        public static final int DEFAULT_NAT_DESTINATIONS = 65_536;
        /**
         * Next hops: 16,384 in all, 1,024 per subnet (an ENI's next hops in one subnet are the hosts
         * its functions talk to directly, and the router). ENIs and environments whose flows are
         * counted: 16,384 and 65,536. Fixed tables, about 3.5 MB together: sized so that they cost
         * little beside a million flows.
         */
        public static final Settings DEFAULTS = new Settings(DEFAULT_FLOW_CAPACITY, FlowTimeouts.DEFAULTS, VxlanHeader.UDP_PORT,
                16_384, 1_024, 60, 256, 1, 3, 4096, 16_384, 65_536, DEFAULT_ENI_FLOW_QUOTA, DEFAULT_ENVIRONMENT_FLOW_QUOTA,
                DEFAULT_NAT_CONNECTIONS_PER_DESTINATION, DEFAULT_NAT_DESTINATIONS);

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
            if (natConnectionsPerDestination < 1 || natConnectionsPerDestination > NatPortAllocator.RANGE) {
                throw new IllegalArgumentException("NAT connections per destination " + natConnectionsPerDestination + ": must be 1.."
                        + NatPortAllocator.RANGE + " (the ports a NAT gateway has)");
            }
            if (natDestinations < 1) {
                throw new IllegalArgumentException("NAT destinations " + natDestinations + ": must be >= 1");
            }
        }

        public Settings withFlowCapacity(int capacity) {
            return new Settings(capacity, timeouts, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota,
                    natConnectionsPerDestination, natDestinations);
        }

        public Settings withTimeouts(FlowTimeouts t) {
            return new Settings(flowCapacity, t, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota,
                    natConnectionsPerDestination, natDestinations);
        }

        public Settings withFlowQuotas(int perEni, int perEnvironment) {
            return new Settings(flowCapacity, timeouts, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, perEni, perEnvironment,
                    natConnectionsPerDestination, natDestinations);
        }

        /** A NAT gateway's limit of open connections to one destination (scaled down in tests). */
        public Settings withNatConnectionsPerDestination(int perDestination) {
            return new Settings(flowCapacity, timeouts, vxlanPort, neighborCapacity, neighborsPerSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota,
                    perDestination, natDestinations);
        }

        /**
         * One of {@code threads} forwarding threads' share of the node's sizes and quotas, each
         * rounded up: flow capacity, flows per ENI and per execution environment, NAT connections
         * per destination (and so a NAT gateway's share of flows, four ENI quotas). A thread that
         * owns more than its share of some tenant's flows (a skewed spread of source ports) reaches
         * that share before the node-wide figure. Next hops, pending resolutions and the counting
         * tables are not split: every thread resolves its own next hops and may see any ENI.
         */
        public Settings perThread(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("threads " + threads + ": must be >= 1");
            }
            return new Settings(share(flowCapacity, threads), timeouts, vxlanPort, neighborCapacity, neighborsPerSubnet,
                    neighborTtlSeconds, pendingResolutions, arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis,
                    maxEnvironments, share(eniFlowQuota, threads), share(environmentFlowQuota, threads),
                    share(natConnectionsPerDestination, threads), natDestinations);
        }

        private static int share(int total, int threads) {
            return (total + threads - 1) / threads;
        }

        public Settings withNeighbors(int capacity, int perSubnet) {
            return new Settings(flowCapacity, timeouts, vxlanPort, capacity, perSubnet, neighborTtlSeconds, pendingResolutions,
                    arpRetrySeconds, arpGiveUpSeconds, expiryBudget, maxEnis, maxEnvironments, eniFlowQuota, environmentFlowQuota,
                    natConnectionsPerDestination, natDestinations);
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
    /** A NAT gateway's share of flows, in ENI flow quotas ({@link #natGatewayFlowQuota}). */
    private static final int NAT_GATEWAY_FLOW_SHARE = 4;
    /**
     * How long before a next hop in use lapses the node asks it again (once per arpRetrySeconds):
     * ten chances for the answer to come back through a node that is queueing a burst, so the
     * entry is renewed before it expires and the next hop never goes dark (NeighborTable).
     */
    private static final int NEIGHBOR_REFRESH_SECONDS = 10;
    /**
     * A live flow's deadline is copied to the backup at most this often (docs/fleet.md): often
     * enough that the copy outlives no flow by more than a second, and at most one record per flow
     * per second however fast it sends.
     */
    static final int REPLICATION_REFRESH_SECONDS = 1;
    /** What a route lookup answers when there is no way to the destination: 0.0.0.0 is never a next hop. */
    private static final int NO_NEXT_HOP = 0;

    private static final int ETHERNET_MIN_FRAME = 60; // without FCS (IEEE 802.3)
    private static final int PENDING_SLOT_BYTES = 2048;
    /**
     * Packets one next hop holds while it is resolved: a burst of new connections behind it (the
     * kernel holds about 100, unres_qlen_bytes), and a quarter of the pool, so one next hop that
     * never answers leaves room for the others.
     */
    private static final int PENDING_PER_HOP = 64;
    private static final int ARP_FRAME_LENGTH = VxlanHeader.LENGTH + ETHERNET_MIN_FRAME;

    private final FrameDecoder d = new FrameDecoder();
    private final Settings settings;
    private final FlowTable flows;
    private final NatPortAllocator nat;
    private final Counters counters = new Counters();
    private final FlowCounts flowCounts;
    /** Open connections per NAT gateway destination, keyed by {@link #natDestinationKey}. */
    private final LongCountTable natConnections;
    /**
     * Flows each NAT gateway holds in the table, finished ones included, keyed like an ENI (subnet
     * VNI, address): bounded, so that one tenant's gateway cannot fill the node's table (DESIGN.md §9).
     */
    private final LongCountTable natGatewayFlows;
    private NatGatewayCounters natCounters = NatGatewayCounters.empty();
    private final NeighborTable neighbors;
    private final PendingResolutions pending;
    private final FlowTable.ExpiryListener flowGone = this::flowGone;
    private final ByteBuffer arpScratch = ByteBuffer.allocateDirect(ARP_FRAME_LENGTH);
    private final VxlanHeader scratchVxlan = new VxlanHeader();
    private final EthernetHeader scratchEthernet = new EthernetHeader();
    private final ArpPacket scratchArp = new ArpPacket();

    private CompiledConfig config;
    private int now;
    private FlowReplication replication = FlowReplication.OFF;
    private FleetPeers peers = FleetPeers.NONE;
    /** The packet in hand opened (or promoted) a flow: its first packet here. */
    private boolean openedFlow;
    /** {@link #openedFlow}, while that packet is being handed to the sink. */
    private boolean sendingFirst;
    private int replicas;
    /** The next table id {@link #resync} copies; past the table's end when no walk is under way. */
    private int resyncCursor = Integer.MAX_VALUE;
    /** The transport fields {@link #readOutbound} read from the packet in hand. */
    private int outSourcePort;
    private int outRemotePort;
    private int outPortOrType;
    private int outIcmpCode;
    private int outTcpFlags;

    public Forwarder(Settings settings) {
        this(settings, 1);
    }

    /**
     * A forwarder for one of {@code threads} forwarding threads of a node, each with its own
     * {@code settings} (see {@link Settings#perThread}): the NAT ports it hands out steer like the
     * flow's source port, which is what lets the kernel give both directions of a flow to the
     * same thread ({@link NatPortAllocator}, {@link ThreadSteering}).
     */
    public Forwarder(Settings settings, int threads) {
        this.settings = settings;
        flows = new FlowTable(settings.flowCapacity());
        nat = new NatPortAllocator(flows, this::portReclaimed, new ThreadSteering(threads));
        flowCounts = new FlowCounts(settings.maxEnis(), settings.maxEnvironments());
        natConnections = new LongCountTable(settings.natDestinations());
        natGatewayFlows = new LongCountTable(settings.maxEnis());
        neighbors = new NeighborTable(settings.neighborCapacity(), settings.neighborsPerSubnet(), settings.neighborTtlSeconds(),
                Math.min(NEIGHBOR_REFRESH_SECONDS, settings.neighborTtlSeconds()), settings.arpRetrySeconds());
        pending = new PendingResolutions(settings.pendingResolutions(), settings.pendingResolutions(), PENDING_PER_HOP, PENDING_SLOT_BYTES);
    }

    /** Installs a new configuration. Call on the forwarding thread, between packets. */
    public void config(CompiledConfig newConfig) {
        config = newConfig;
        natCounters = natCounters.carriedInto(newConfig);
        counters.set(Counter.CONFIG_VERSION, newConfig.version());
        counters.increment(Counter.CONFIG_APPLIED);
    }

    public CompiledConfig config() {
        return config;
    }

    /**
     * Where changes to this node's own flows go to reach its fleet backup (docs/fleet.md);
     * {@link FlowReplication#OFF} without one. Call on the forwarding thread, between packets.
     */
    public void replication(FlowReplication r) {
        replication = r;
    }

    /** The fleet's other members, to which a packet of a flow still theirs is passed on ({@link FleetPeers#NONE}: none). */
    public void peers(FleetPeers p) {
        peers = p;
    }

    /**
     * Starts copying every flow of this node's own to its backup again, a bounded share per
     * {@link #resync} call: a new backup (the old one died, or a node returned) learns idle flows
     * too, not only those that send. Call on the forwarding thread, between packets.
     */
    public void startResync() {
        resyncCursor = 0;
    }

    /**
     * Copies the own flows among the next {@code slots} ids of the table to the backup; returns
     * whether the walk is done. Call once per duty cycle, on the forwarding thread.
     */
    public boolean resync(int slots) {
        int end = (int) Math.min((long) resyncCursor + slots, flows.capacity());
        for (int f = resyncCursor; f < end; f++) {
            if (flows.isUsed(f) && !flows.isReplica(f)) {
                replicate(f);
            }
        }
        resyncCursor = end;
        return resyncCursor == flows.capacity();
    }

    /**
     * Whether the packet being handed to the sink right now is the first a new flow sends (or the
     * first of a promoted copy, or a packet that waited for ARP): the sink may hold it until the
     * flow's copy is acknowledged.
     */
    public boolean sendingFirstPacket() {
        return sendingFirst;
    }

    /**
     * A copy of fleet member {@code owner}'s flow, as its record says: added, or brought up to
     * date when this node has it already as a copy (never over a flow of this node's own).
     * {@code expiresIn}: seconds from now. Call on the forwarding thread, between packets.
     */
    public void replicaCopy(int owner, int vni, int proto, int sourceIp, int eePort, int remoteIp, int remotePort, int eniVni,
                            int eniIp, int natPort, byte state, int expiresIn) {
        int f = flows.findForward(vni, proto, sourceIp, eePort, remoteIp, remotePort);
        int deadline = now + Math.max(0, expiresIn);
        if (f == FlowTable.NONE) {
            f = flows.insert(vni, proto, sourceIp, eePort, remoteIp, remotePort, eniVni, eniIp, natPort, state, deadline);
            if (f == FlowTable.NONE) {
                counters.increment(Counter.DROP_FLOW_TABLE_FULL);
                return;
            }
            flows.owner(f, owner);
            replicas++;
            return;
        }
        if (flows.isReplica(f)) {
            flows.owner(f, owner);
            flows.state(f, state);
            flows.expiresAt(f, deadline);
        }
    }

    /** Removes a copy of a member's flow its owner removed. Call on the forwarding thread, between packets. */
    public void replicaForget(int vni, int proto, int sourceIp, int eePort, int remoteIp, int remotePort) {
        int f = flows.findForward(vni, proto, sourceIp, eePort, remoteIp, remotePort);
        if (f != FlowTable.NONE && flows.isReplica(f)) {
            flows.remove(f);
            replicas--;
        }
    }

    /**
     * The NAT port blocks this node owns in its fleet's plan (bit b: block b of
     * {@link io.hyperplane.config.fleet.FleetPlan}): new flows' NAT ports and ICMP identifiers,
     * ENIs' and NAT gateways' alike, come only from them. Call on the forwarding thread, between packets.
     */
    public void ownPortBlocks(int blocks) {
        nat.ownBlocks(blocks);
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
        counters.set(Counter.FLOWS_ACTIVE, flows.size() - replicas);
        counters.set(Counter.REPLICAS, replicas);
    }

    /** Starts the clock; call once before the first {@link #process} when time does not start at 0. */
    public void startClock(int nowSeconds) {
        now = nowSeconds;
        flows.startClock(nowSeconds);
    }

    /** Decides the fate of one VXLAN payload received from {@code outerSource} (the sending VTEP). */
    public void process(ByteBuffer buffer, int offset, int length, int outerSource, PacketSink out) {
        counters.increment(Counter.RECEIVED);
        openedFlow = false;
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
        Counter refused = readOutbound(proto);
        if (refused != null) {
            counters.increment(refused);
            return;
        }
        int eePort = outSourcePort;
        int remotePort = outRemotePort;
        int portOrType = outPortOrType;
        int icmpCode = outIcmpCode;
        int tcpFlags = outTcpFlags;
        int destination = ip.destination();
        if (isReserved(destination)) {
            counters.increment(Counter.DROP_RESERVED_DESTINATION);
            return;
        }
        int eni = c.eeEni(ee);
        boolean serviceEgress = c.eniServiceEgress(eni);
        if (serviceEgress && !PublicAddresses.isPublic(destination)) {
            counters.increment(Counter.DROP_RESERVED_DESTINATION); // the service egress reaches the internet only (DESIGN.md §11)
            return;
        }
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
        int found = flows.findForward(vni, proto, eeIp, eePort, destination, remotePort);
        if (passedToOwner(found, outerSource, length, out)) {
            return;
        }
        int flow = owned(found);
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
        int nextHop = eniNextHop(c, subnet, destination, serviceEgress);
        if (nextHop == NO_NEXT_HOP) {
            counters.increment(Counter.DROP_NO_ROUTE);
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
            byte state = initialState(proto);
            flow = flows.insert(vni, proto, eeIp, eePort, destination, remotePort, eniVni, eniIp, natPort, state,
                    now + FlowState.timeoutSeconds(state, settings.timeouts()));
            if (flow == FlowTable.NONE) {
                flowCounts.closed(eniKey, vni);
                counters.increment(Counter.DROP_FLOW_TABLE_FULL);
                return;
            }
            flowCounts.portTaken(eniKey);
            counters.increment(Counter.FLOWS_CREATED);
            opened(flow);
        } else if (reopening) {
            changeState(flow, FlowState.TCP_SYN_SENT);
            flows.expiresAt(flow, now + settings.timeouts().tcpSynSent());
            replicate(flow);
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
        toVpc(c, c.eniMac(eni), eniIp, subnet, nextHop, length, out);
    }

    /**
     * Where an ENI's packet goes next by its subnet's route table, one rule per target (DESIGN.md
     * §11), or {@link #NO_NEXT_HOP}:
     * <ul>
     *   <li>local: the destination itself when it is in the subnet, else the subnet's router;</li>
     *   <li>a NAT gateway: the subnet's router, which hands the packet to the NAT gateway. Not for
     *       the service egress, which has no VPC to hold one;</li>
     *   <li>an internet gateway: the subnet's router for the service egress, whose address is
     *       public; no way for a Lambda ENI, which has no public address (AWS's Lambda guide: a
     *       function in a public subnet does not reach the internet);</li>
     *   <li>blackhole, no route, any other target: no way.</li>
     * </ul>
     */
    private static int eniNextHop(CompiledConfig c, int subnet, int destination, boolean serviceEgress) {
        return switch (c.subnetRoutes(subnet).lookup(destination)) {
            case RouteTableRules.LOCAL -> c.subnetContains(subnet, destination) ? destination : c.subnetGateway(subnet);
            case RouteTableRules.NAT_GATEWAY -> serviceEgress ? NO_NEXT_HOP : c.subnetGateway(subnet);
            case RouteTableRules.INTERNET_GATEWAY -> serviceEgress ? c.subnetGateway(subnet) : NO_NEXT_HOP;
            default -> NO_NEXT_HOP;
        };
    }

    private static byte initialState(int proto) {
        return proto == Ipv4Header.PROTOCOL_TCP ? FlowState.TCP_SYN_SENT
                : proto == Ipv4Header.PROTOCOL_UDP ? FlowState.UDP_UNREPLIED : FlowState.ICMP;
    }

    private static boolean isReserved(int destination) {
        return (destination & UNDERLAY_MASK) == UNDERLAY_NETWORK || (destination & EE_MASK) == EE_NETWORK;
    }

    /**
     * Reads the transport fields of a packet that may open a flow (from an EE or through a NAT
     * gateway) into the {@code out…} fields; null when it may, else why it is dropped: only TCP,
     * UDP and ICMP echo requests open flows. Fields, not a result object: nothing per packet is allocated.
     */
    private Counter readOutbound(int proto) {
        outIcmpCode = 0;
        outTcpFlags = 0;
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> {
                outSourcePort = d.tcp.sourcePort();
                outRemotePort = d.tcp.destinationPort();
                outPortOrType = outRemotePort;
                outTcpFlags = d.tcp.flags();
            }
            case Ipv4Header.PROTOCOL_UDP -> {
                outSourcePort = d.udp.sourcePort();
                outRemotePort = d.udp.destinationPort();
                outPortOrType = outRemotePort;
            }
            case Ipv4Header.PROTOCOL_ICMP -> {
                if (d.icmp.type() != IcmpHeader.ECHO_REQUEST) {
                    return Counter.DROP_NO_FLOW; // nothing else sent outward can belong to a flow
                }
                outSourcePort = d.icmp.identifier();
                outRemotePort = 0;
                outPortOrType = IcmpHeader.ECHO_REQUEST;
                outIcmpCode = d.icmp.code();
            }
            default -> {
                return Counter.DROP_UNSUPPORTED_PROTOCOL;
            }
        }
        return null;
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

    /** Sends the packet into {@code subnet} from our address there ({@code ourMac}, {@code ourIp}: an ENI or a NAT gateway). */
    private void toVpc(CompiledConfig c, long ourMac, int ourIp, int subnet, int nextHop, int length, PacketSink out) {
        int subnetVni = c.subnetVni(subnet);
        d.vxlan.set(subnetVni); // the whole header: whatever reserved bits came in (a member's relay mark) go out as zero
        d.ethernet.source(ourMac);
        long mac = neighbors.lookup(subnetVni, nextHop, now);
        if (mac == NeighborTable.MISSING) {
            holdAndResolve(ourMac, ourIp, subnetVni, nextHop, c.subnetVtep(subnet), length, out);
            return;
        }
        d.ethernet.destination(mac);
        sendingFirst = openedFlow;
        out.send(d.buffer(), d.offset(), length, c.subnetVtep(subnet), settings.vxlanPort());
        sendingFirst = false;
        counters.increment(Counter.FORWARDED);
        counters.increment(Counter.FORWARDED_TO_VPC);
        if (neighbors.refreshDue(now)) {
            // After the packet: the request goes through arpScratch, never the packet's own bytes.
            // Unicast to the MAC we have, as a poll (RFC 1122 §2.3.2.1).
            sendArpRequest(ourMac, ourIp, subnetVni, nextHop, c.subnetVtep(subnet), mac, out);
        }
    }

    private void holdAndResolve(long ourMac, int ourIp, int subnetVni, int nextHop, int vtep, int length, PacketSink out) {
        int slot = pending.acquire(subnetVni, nextHop, now);
        pending.hold(slot, d.buffer(), d.offset(), length, vtep);
        counters.add(Counter.DROP_ARP_UNRESOLVED, pending.takeDropped());
        if (pending.shouldRequest(slot, now, settings.arpRetrySeconds())) {
            sendArpRequest(ourMac, ourIp, subnetVni, nextHop, vtep, MacAddress.BROADCAST, out);
        }
    }

    /** An ARP request from our address for {@code nextHop}, to {@code destinationMac} (broadcast to resolve, unicast to refresh). */
    private void sendArpRequest(long ourMac, int ourIp, int subnetVni, int nextHop, int vtep, long destinationMac, PacketSink out) {
        arpScratch.clear();
        for (int i = 0; i < ARP_FRAME_LENGTH; i++) {
            arpScratch.put(i, (byte) 0);
        }
        scratchVxlan.wrap(arpScratch, 0);
        scratchVxlan.set(subnetVni);
        scratchEthernet.wrap(arpScratch, FrameDecoder.ETHERNET_OFFSET);
        scratchEthernet.destination(destinationMac).source(ourMac).type(EthernetHeader.TYPE_ARP);
        scratchArp.wrap(arpScratch, FrameDecoder.L3_OFFSET);
        scratchArp.set(ArpPacket.REQUEST, ourMac, ourIp, 0L, nextHop);
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
        int through = c.natGatewayByMac(subnet, d.ethernet.destination());
        if (through != CompiledConfig.NONE && eniIp != c.natGatewayIp(through)) {
            fromSourceThroughNatGateway(c, subnet, through, vni, outerSource, length, out);
            return;
        }
        // A reply, to an ENI or to a NAT gateway: gw names the NAT gateway, NONE for an ENI.
        int gw = CompiledConfig.NONE;
        if (c.eniByAddress(vni, eniIp) == CompiledConfig.NONE) {
            gw = c.natGatewayByAddress(vni, eniIp);
            if (gw == CompiledConfig.NONE) {
                counters.increment(Counter.DROP_NO_FLOW);
                return;
            }
            natCounters.increment(gw, NatGatewayMetric.PACKETS_IN_FROM_DESTINATION);
            natCounters.add(gw, NatGatewayMetric.BYTES_IN_FROM_DESTINATION, ip.totalLength());
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
                    icmpErrorFromVpc(c, subnet, gw, vni, eniIp, remote, length, out);
                    return;
                }
                if (d.icmp.type() != IcmpHeader.ECHO_REPLY) {
                    drop(Counter.DROP_NO_FLOW, gw); // nothing may open a flow toward an EE, nor through a NAT gateway from outside
                    return;
                }
                portOrType = IcmpHeader.ECHO_REPLY;
                icmpCode = d.icmp.code();
                flow = flows.findReverse(proto, remote, 0, vni, eniIp, d.icmp.identifier());
            }
            default -> {
                drop(Counter.DROP_UNSUPPORTED_PROTOCOL, gw);
                return;
            }
        }
        flow = owned(flow);
        if (flow == FlowTable.NONE) {
            drop(Counter.DROP_NO_FLOW, gw);
            return;
        }
        if (!c.subnetAcl(subnet).allowsIngress(proto, remote, portOrType, icmpCode)) {
            drop(Counter.DROP_NACL_DENY, gw);
            return;
        }
        if (ip.ttl() <= 1) {
            drop(Counter.DROP_TTL_EXCEEDED, gw);
            return;
        }
        if (gw != CompiledConfig.NONE) {
            replyThroughNatGateway(c, subnet, gw, flow, proto, tcpFlags, length, out);
            return;
        }
        int ee = c.eeByVni(flows.vni(flow));
        if (ee == CompiledConfig.NONE) {
            counters.increment(Counter.DROP_NO_FLOW); // the EE is gone; its flows wait out their timers
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
     * checksum right, each incrementally. The same for an ENI's flow (back to the EE) and a NAT
     * gateway's ({@code gw}; back to the source in the VPC).
     */
    private void icmpErrorFromVpc(CompiledConfig c, int subnet, int gw, int vni, int eniIp, int remote, int length, PacketSink out) {
        Malformation m = d.decodeIcmpError();
        if (m != Malformation.NONE) {
            counters.malformed(m);
            countNatDrop(gw);
            return;
        }
        Ipv4Header inner = d.embeddedIp;
        if (inner.source() != eniIp) {
            drop(Counter.DROP_NO_FLOW, gw);
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
                    drop(Counter.DROP_NO_FLOW, gw);
                    return;
                }
                natPortAt = innerL4 + IcmpHeader.IDENTIFIER_OFFSET;
                remotePort = 0;
                innerChecksumAt = innerL4 + IcmpHeader.CHECKSUM_OFFSET;
            }
            default -> {
                drop(Counter.DROP_NO_FLOW, gw);
                return;
            }
        }
        int natPort = u16(b, natPortAt);
        int flow = owned(flows.findReverse(innerProto, inner.destination(), remotePort, vni, eniIp, natPort));
        if (flow == FlowTable.NONE) {
            drop(Counter.DROP_NO_FLOW, gw);
            return;
        }
        int icmpType = d.icmp.type();
        int icmpCode = d.icmp.code();
        if (!c.subnetAcl(subnet).allowsIngress(Ipv4Header.PROTOCOL_ICMP, remote, icmpType, icmpCode)) {
            drop(Counter.DROP_NACL_DENY, gw);
            return;
        }
        // Where the error goes: the EE, or the source a NAT gateway translated (the flow's source address).
        int ee = CompiledConfig.NONE;
        int originalIp = flows.sourceIp(flow);
        if (gw == CompiledConfig.NONE) {
            ee = c.eeByVni(flows.vni(flow));
            if (ee == CompiledConfig.NONE) {
                counters.increment(Counter.DROP_NO_FLOW);
                return;
            }
            originalIp = c.eeIp(ee);
        } else if (!natAclAllowsTowardSource(c, subnet, Ipv4Header.PROTOCOL_ICMP, originalIp, icmpType, icmpCode)) {
            drop(Counter.DROP_NACL_DENY, gw);
            return;
        }
        if (d.ip.ttl() <= 1) {
            drop(Counter.DROP_TTL_EXCEEDED, gw);
            return;
        }
        int originalPort = flows.eePort(flow);
        int icmpSum = d.icmp.checksum();

        int oldInnerIpSum = inner.checksum();
        inner.rewriteSource(originalIp);
        icmpSum = Checksums.update32(icmpSum, eniIp, originalIp);
        icmpSum = Checksums.update16(icmpSum, oldInnerIpSum, inner.checksum());

        b.putShort(natPortAt, (short) originalPort);
        icmpSum = Checksums.update16(icmpSum, natPort, originalPort);
        if (innerChecksumAt >= 0) {
            int oldSum = u16(b, innerChecksumAt);
            int newSum = Checksums.update16(oldSum, natPort, originalPort);
            if (innerProto != Ipv4Header.PROTOCOL_ICMP) {
                newSum = Checksums.update32(newSum, eniIp, originalIp); // the pseudo-header address
            }
            b.putShort(innerChecksumAt, (short) newSum);
            icmpSum = Checksums.update16(icmpSum, oldSum, newSum);
        }
        d.icmp.checksum(icmpSum);
        d.ip.rewriteDestination(originalIp);
        d.ip.decrementTtl();
        if (gw == CompiledConfig.NONE) {
            toExecutionEnvironment(c, ee, flows.vni(flow), length, out);
        } else {
            toSourceFromNatGateway(c, subnet, gw, originalIp, length, out);
        }
    }

    // ---- through a NAT gateway ------------------------------------------------------------------

    /**
     * A packet from the VPC that the subnet's router (or a host of the NAT gateway's own subnet)
     * handed to the NAT gateway {@code gw}: source-NAT it onto the NAT gateway's address and route
     * it by the NAT gateway subnet's table (DESIGN.md §11). No security group: NAT gateways have
     * none. The subnet's network ACL applies where AWS applies it, at the subnet's edge, and the
     * packet crosses it twice: inbound from the source (unless the source is in the subnet, where
     * no ACL applies), then outbound toward the destination (unless that is in the subnet). Like
     * the ACL, this is stateless: every packet is checked, not only a flow's first.
     */
    private void fromSourceThroughNatGateway(CompiledConfig c, int subnet, int gw, int vni, int outerSource, int length, PacketSink out) {
        Ipv4Header ip = d.ip;
        natCounters.increment(gw, NatGatewayMetric.PACKETS_IN_FROM_SOURCE);
        natCounters.add(gw, NatGatewayMetric.BYTES_IN_FROM_SOURCE, ip.totalLength());
        int proto = d.protocol();
        Counter refused = readOutbound(proto);
        if (refused != null) {
            drop(refused, gw);
            return;
        }
        int sourcePort = outSourcePort;
        int remotePort = outRemotePort;
        int portOrType = outPortOrType;
        int icmpCode = outIcmpCode;
        int tcpFlags = outTcpFlags;
        int source = ip.source();
        int destination = ip.destination();
        int gwIp = c.natGatewayIp(gw);
        if (source == gwIp) {
            drop(Counter.DROP_SPOOF, gw); // nothing in the VPC sends as the NAT gateway; its replies would come back to it
            return;
        }
        if (isReserved(destination)) {
            drop(Counter.DROP_RESERVED_DESTINATION, gw);
            return;
        }
        if (c.eniInVpc(c.subnetVpc(subnet), destination) != CompiledConfig.NONE) {
            drop(Counter.DROP_NO_ROUTE, gw); // never hairpinned onto another Hyperplane address of the VPC
            return;
        }
        if (ip.ttl() <= 1) {
            drop(Counter.DROP_TTL_EXCEEDED, gw);
            return;
        }
        int found = flows.findForward(vni, proto, source, sourcePort, destination, remotePort);
        if (passedToOwner(found, outerSource, length, out)) {
            return;
        }
        int flow = owned(found);
        if (flow != FlowTable.NONE && flows.eniIp(flow) != gwIp) {
            // The same connection through another NAT gateway of this subnet (its route changed): it
            // keeps that translation until it expires; the peer would not know a new one anyway.
            drop(Counter.DROP_NO_FLOW, gw);
            return;
        }
        boolean reopening = flow != FlowTable.NONE && proto == Ipv4Header.PROTOCOL_TCP
                && FlowState.isReclaimable(flows.state(flow)) && FlowState.isOpeningSyn(tcpFlags);
        if ((flow == FlowTable.NONE || reopening) && proto == Ipv4Header.PROTOCOL_TCP && !FlowState.isOpeningSyn(tcpFlags)) {
            drop(Counter.DROP_NO_FLOW, gw); // mid-stream segment of no known connection
            return;
        }
        NetworkAclRules acl = c.subnetAcl(subnet);
        if (!c.subnetContains(subnet, source) && !acl.allowsIngress(proto, source, portOrType, icmpCode)
                || !c.subnetContains(subnet, destination) && !acl.allowsEgress(proto, destination, portOrType, icmpCode)) {
            drop(Counter.DROP_NACL_DENY, gw);
            return;
        }
        int nextHop = natGatewayNextHop(c, subnet, destination);
        if (nextHop == NO_NEXT_HOP) {
            drop(Counter.DROP_NO_ROUTE, gw);
            return;
        }
        if (flow == FlowTable.NONE) {
            flow = openNatGatewayFlow(gw, vni, gwIp, proto, source, sourcePort, destination, remotePort);
            if (flow == FlowTable.NONE) {
                return;
            }
        } else if (reopening) {
            if (natConnections.get(natDestinationKey(vni, gwIp, proto, destination, remotePort)) >= settings.natConnectionsPerDestination()) {
                portAllocationFailed(gw);
                return;
            }
            changeState(flow, FlowState.TCP_SYN_SENT);
            flows.expiresAt(flow, now + settings.timeouts().tcpSynSent());
            replicate(flow);
            natCounters.increment(gw, NatGatewayMetric.CONNECTION_ATTEMPT_COUNT);
        } else {
            track(flow, proto, tcpFlags, true);
        }

        int natPort = flows.natPort(flow);
        ip.rewriteSource(gwIp);
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> d.tcp.pseudoHeaderAddressChanged(source, gwIp).rewriteSourcePort(natPort);
            case Ipv4Header.PROTOCOL_UDP -> d.udp.pseudoHeaderAddressChanged(source, gwIp).rewriteSourcePort(natPort);
            default -> d.icmp.rewriteIdentifier(natPort);
        }
        ip.decrementTtl();
        natCounters.increment(gw, NatGatewayMetric.PACKETS_OUT_TO_DESTINATION);
        natCounters.add(gw, NatGatewayMetric.BYTES_OUT_TO_DESTINATION, ip.totalLength());
        toVpc(c, c.natGatewayMac(gw), gwIp, subnet, nextHop, length, out);
    }

    /**
     * Where a NAT gateway's packet goes next by its subnet's route table, or {@link #NO_NEXT_HOP}:
     * an internet gateway or local: the destination itself when it is in the subnet, else the
     * subnet's router (which maps the NAT gateway's address onto its Elastic IP toward the internet);
     * a NAT gateway (itself or another: no chains, as on AWS), blackhole, no route: no way.
     */
    private static int natGatewayNextHop(CompiledConfig c, int subnet, int destination) {
        return switch (c.subnetRoutes(subnet).lookup(destination)) {
            case RouteTableRules.LOCAL, RouteTableRules.INTERNET_GATEWAY ->
                    c.subnetContains(subnet, destination) ? destination : c.subnetGateway(subnet);
            default -> NO_NEXT_HOP;
        };
    }

    /**
     * A new flow through {@code gw}: a port unique per (NAT gateway, protocol, destination, port),
     * the source's own when free, within the per-destination limit. Returns the flow, or
     * {@link FlowTable#NONE} with the drop counted.
     */
    private int openNatGatewayFlow(int gw, int vni, int gwIp, int proto, int source, int sourcePort, int destination, int remotePort) {
        long key = natDestinationKey(vni, gwIp, proto, destination, remotePort);
        if (natConnections.get(key) >= settings.natConnectionsPerDestination()) {
            portAllocationFailed(gw);
            return FlowTable.NONE;
        }
        long gatewayKey = FlowCounts.eniKey(vni, gwIp);
        if (natGatewayFlows.get(gatewayKey) >= natGatewayFlowQuota()) {
            drop(Counter.DROP_FLOW_QUOTA, gw);
            return FlowTable.NONE;
        }
        int natPort = nat.allocate(vni, gwIp, proto, destination, remotePort, sourcePort);
        if (natPort == NatPortAllocator.EXHAUSTED || !natConnections.increment(key)) {
            portAllocationFailed(gw); // no port, or more destinations than the node counts at once
            return FlowTable.NONE;
        }
        if (!natGatewayFlows.increment(gatewayKey)) {
            natConnections.decrement(key);
            drop(Counter.DROP_FLOW_QUOTA, gw); // more gateways with flows than the node counts at once
            return FlowTable.NONE;
        }
        byte state = initialState(proto);
        int flow = flows.insert(vni, proto, source, sourcePort, destination, remotePort, vni, gwIp, natPort, state,
                now + timeoutSeconds(state, true));
        if (flow == FlowTable.NONE) {
            natConnections.decrement(key);
            natGatewayFlows.decrement(gatewayKey);
            drop(Counter.DROP_FLOW_TABLE_FULL, gw);
            return FlowTable.NONE;
        }
        if (proto == Ipv4Header.PROTOCOL_TCP) {
            natCounters.increment(gw, NatGatewayMetric.ACTIVE_CONNECTION_COUNT);
        }
        natCounters.increment(gw, NatGatewayMetric.CONNECTION_ATTEMPT_COUNT);
        counters.increment(Counter.FLOWS_CREATED);
        opened(flow);
        return flow;
    }

    /**
     * The flows one NAT gateway may hold: four ENIs' worth (a gateway serves a whole VPC's private
     * subnets, so more than one ENI), a quarter of the default table, past which a new flow is
     * {@code drop-flow-quota}. AWS documents no such total, only the per-destination limit; ours
     * exists because the node's table is shared by every tenant.
     */
    private long natGatewayFlowQuota() {
        return (long) settings.eniFlowQuota() * NAT_GATEWAY_FLOW_SHARE;
    }

    private void portAllocationFailed(int gw) {
        natCounters.increment(gw, NatGatewayMetric.ERROR_PORT_ALLOCATION);
        drop(Counter.DROP_PORT_EXHAUSTION, gw);
    }

    /** A reply to the NAT gateway {@code gw}, matched to {@code flow}: reversed and sent back to the flow's source. */
    private void replyThroughNatGateway(CompiledConfig c, int subnet, int gw, int flow, int proto, int tcpFlags, int length, PacketSink out) {
        int gwIp = c.natGatewayIp(gw);
        int source = flows.sourceIp(flow);
        int sourcePort = flows.eePort(flow);
        int portOrType = proto == Ipv4Header.PROTOCOL_ICMP ? IcmpHeader.ECHO_REPLY : sourcePort;
        int icmpCode = proto == Ipv4Header.PROTOCOL_ICMP ? d.icmp.code() : 0;
        if (!natAclAllowsTowardSource(c, subnet, proto, source, portOrType, icmpCode)) {
            drop(Counter.DROP_NACL_DENY, gw);
            return;
        }
        track(flow, proto, tcpFlags, false);
        Ipv4Header ip = d.ip;
        ip.rewriteDestination(source);
        switch (proto) {
            case Ipv4Header.PROTOCOL_TCP -> d.tcp.pseudoHeaderAddressChanged(gwIp, source).rewriteDestinationPort(sourcePort);
            case Ipv4Header.PROTOCOL_UDP -> d.udp.pseudoHeaderAddressChanged(gwIp, source).rewriteDestinationPort(sourcePort);
            default -> d.icmp.rewriteIdentifier(sourcePort);
        }
        ip.decrementTtl();
        toSourceFromNatGateway(c, subnet, gw, source, length, out);
    }

    /** The subnet's ACL on the way back to a NAT gateway's source: outbound, unless the source is in the subnet. */
    private static boolean natAclAllowsTowardSource(CompiledConfig c, int subnet, int proto, int source, int portOrType, int icmpCode) {
        return c.subnetContains(subnet, source) || c.subnetAcl(subnet).allowsEgress(proto, source, portOrType, icmpCode);
    }

    /** Back to a NAT gateway's source: directly in the NAT gateway's subnet, else through its router. */
    private void toSourceFromNatGateway(CompiledConfig c, int subnet, int gw, int source, int length, PacketSink out) {
        natCounters.increment(gw, NatGatewayMetric.PACKETS_OUT_TO_SOURCE);
        natCounters.add(gw, NatGatewayMetric.BYTES_OUT_TO_SOURCE, d.ip.totalLength());
        int nextHop = c.subnetContains(subnet, source) ? source : c.subnetGateway(subnet);
        toVpc(c, c.natGatewayMac(gw), c.natGatewayIp(gw), subnet, nextHop, length, out);
    }

    /**
     * One key per NAT gateway destination (the gateway's subnet VNI and address, protocol,
     * destination address and port): 112 bits mixed into 64. Two destinations share a count only
     * if their keys collide, about once in 2^64 pairs; 0 is the count table's empty key, so never used.
     */
    static long natDestinationKey(int vni, int gwIp, int proto, int destination, int destinationPort) {
        long a = ((long) vni << 40) | ((long) proto << 32) | ((long) destinationPort << 16);
        long b = ((long) gwIp << 32) | (destination & 0xffff_ffffL);
        long h = a * 0x9E3779B97F4A7C15L + b * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return h == 0 ? 1 : h;
    }

    /** A drop counted globally, and against the NAT gateway {@code gw} when there is one. */
    private void drop(Counter reason, int gw) {
        counters.increment(reason);
        countNatDrop(gw);
    }

    private void countNatDrop(int gw) {
        if (gw != CompiledConfig.NONE) {
            natCounters.increment(gw, NatGatewayMetric.PACKETS_DROP_COUNT);
        }
    }

    private void vpcArp(CompiledConfig c, int subnet, int vni, int length, PacketSink out) {
        ArpPacket arp = d.arp;
        int target = arp.targetIp();
        int eni = c.eniByAddress(vni, target);
        int gw = eni == CompiledConfig.NONE ? c.natGatewayByAddress(vni, target) : CompiledConfig.NONE;
        if (eni == CompiledConfig.NONE && gw == CompiledConfig.NONE) {
            counters.increment(Counter.DROP_ARP_IGNORED); // flooded ARP about other hosts
            return;
        }
        int sender = arp.senderIp();
        long senderMac = arp.senderMac();
        // Learn only from ARP addressed to our ENIs and NAT gateways (as Linux does without arp_accept), and only
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
            replyToArp(eni != CompiledConfig.NONE ? c.eniMac(eni) : c.natGatewayMac(gw), target);
            out.send(d.buffer(), d.offset(), length, c.subnetVtep(subnet), settings.vxlanPort());
            counters.increment(Counter.ARP_REPLIES_SENT);
        }
    }

    private void releaseHeld(int vni, int ip, long mac, PacketSink out) {
        int slot = pending.find(vni, ip);
        if (slot == PendingResolutions.NONE) {
            return;
        }
        ByteBuffer storage = pending.storage();
        for (int p = pending.firstPacket(slot); p != PendingResolutions.NONE; p = pending.nextPacket(p)) {
            int at = pending.offset(p);
            scratchEthernet.wrap(storage, at + FrameDecoder.ETHERNET_OFFSET);
            scratchEthernet.destination(mac);
            sendingFirst = true; // usually a new flow's first packet, which waited for ARP: it may wait for its copy too
            out.send(storage, at, pending.length(p), pending.vtep(p), settings.vxlanPort());
            sendingFirst = false;
            counters.increment(Counter.FORWARDED);
            counters.increment(Counter.FORWARDED_TO_VPC);
        }
        pending.release(slot);
    }

    private void expirePending() {
        for (int i = 0; i < pending.slots(); i++) {
            if (pending.isUsed(i) && now - pending.createdAt(i) >= settings.arpGiveUpSeconds()) {
                counters.add(Counter.DROP_ARP_UNRESOLVED, pending.held(i));
                pending.release(i);
            }
        }
    }

    // ---- shared ---------------------------------------------------------------------------------

    private void toExecutionEnvironment(CompiledConfig c, int ee, int eeVni, int length, PacketSink out) {
        d.vxlan.set(eeVni);
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
        d.vxlan.set(d.vxlan.vni());
        d.ethernet.destination(askerMac).source(ourMac);
        arp.set(ArpPacket.REPLY, ourMac, ourIp, askerMac, askerIp);
    }

    /** Moves the flow's state on for a packet; {@code fromEe}: from the inside (an EE, or a NAT gateway's source). */
    private void track(int flow, int proto, int tcpFlags, boolean fromEe) {
        byte state = flows.state(flow);
        byte next = state;
        if (proto == Ipv4Header.PROTOCOL_TCP) {
            next = FlowState.tcp(state, tcpFlags, fromEe);
        } else if (proto == Ipv4Header.PROTOCOL_UDP && !fromEe) {
            next = FlowState.UDP_REPLIED;
        }
        boolean natGateway = flows.isNatGateway(flow);
        if (next != state) {
            changeState(flow, next);
            if (natGateway && (next == FlowState.TCP_ESTABLISHED || next == FlowState.UDP_REPLIED)) {
                countNat(flow, NatGatewayMetric.CONNECTION_ESTABLISHED_COUNT, 1);
            }
        }
        flows.expiresAt(flow, now + timeoutSeconds(next, natGateway));
        if (next != state || now - flows.replicatedAt(flow) >= REPLICATION_REFRESH_SECONDS) {
            replicate(flow);
        }
    }

    /** A new flow of this node's: its copy goes to the backup, and its first packet may wait for it. */
    private void opened(int flow) {
        openedFlow = true;
        replicate(flow);
    }

    private void replicate(int flow) {
        flows.replicatedAt(flow, now);
        replication.copy(flows, flow, now);
    }

    /**
     * A packet, in its source's direction, of a flow this node holds only as another member's copy
     * whose NAT port is in that member's blocks, while that member serves (docs/fleet.md,
     * "Redirect"): the flow was made there while this node was away, and the packet reached this
     * node because its slot came home. It goes on to the owner, as it came, and its replies reach
     * the owner by block: the flow keeps one owner. True when passed on.
     */
    private boolean passedToOwner(int flow, int outerSource, int length, PacketSink out) {
        if (flow == FlowTable.NONE || !flows.isReplica(flow) || nat.owns(flows.natPort(flow))
                || !peers.redirect(flows.owner(flow), d.buffer(), d.offset(), length, outerSource, out)) {
            return false;
        }
        counters.increment(Counter.REDIRECTED_TO_OWNER);
        return true;
    }

    /**
     * The flow a packet matched, made this node's own if it was a copy of another member's: that
     * member's traffic comes here only when the senders have re-pointed its next hop at this node
     * (it died, docs/fleet.md "Takeover"). The flow keeps its NAT address, port and state; it joins
     * this node's counts as if opened here, and its copy goes on to this node's own backup.
     */
    private int owned(int flow) {
        if (flow == FlowTable.NONE || !flows.isReplica(flow)) {
            return flow;
        }
        flows.owner(flow, FlowTable.SELF);
        replicas--;
        counters.increment(Counter.REPLICA_PROMOTIONS);
        boolean open = !FlowState.isReclaimable(flows.state(flow));
        long key = FlowCounts.eniKey(flows.eniVni(flow), flows.eniIp(flow));
        if (flows.isNatGateway(flow)) {
            natGatewayFlows.increment(key);
            if (open) {
                natConnections.increment(natDestinationKey(flow));
                if (flows.protocol(flow) == Ipv4Header.PROTOCOL_TCP) {
                    countNat(flow, NatGatewayMetric.ACTIVE_CONNECTION_COUNT, 1);
                }
            }
        } else {
            if (open) {
                flowCounts.opened(key, flows.vni(flow));
            }
            flowCounts.portTaken(key);
        }
        opened(flow);
        return flow;
    }

    /**
     * A state's idle timeout. A NAT gateway times out idle UDP after 350 s as it does TCP (VPC user
     * guide, "NAT gateway basics": "If a connection that's using a NAT gateway is idle for 350
     * seconds or more, the connection times out"), so a replied UDP flow through one takes the
     * established-TCP timeout; an ENI's UDP keeps the security groups' figures.
     */
    private int timeoutSeconds(byte state, boolean natGateway) {
        if (natGateway && state == FlowState.UDP_REPLIED) {
            return settings.timeouts().tcpEstablished();
        }
        return FlowState.timeoutSeconds(state, settings.timeouts());
    }

    /**
     * Every state change of a tracked flow: a flow finishing or reopening leaves or rejoins its
     * owners' open flows: the ENI's and the EE's, or the NAT gateway destination's and, for TCP,
     * the NAT gateway's active connections.
     */
    private void changeState(int flow, byte next) {
        boolean wasOpen = !FlowState.isReclaimable(flows.state(flow));
        boolean open = !FlowState.isReclaimable(next);
        flows.state(flow, next);
        if (wasOpen == open) {
            return;
        }
        if (flows.isNatGateway(flow)) {
            long key = natDestinationKey(flow);
            if (open) {
                natConnections.increment(key); // the reopening SYN was let through the limit check
            } else {
                natConnections.decrement(key);
            }
            countNat(flow, NatGatewayMetric.ACTIVE_CONNECTION_COUNT, open ? 1 : -1);
            return;
        }
        long eniKey = FlowCounts.eniKey(flows.eniVni(flow), flows.eniIp(flow));
        if (open) {
            flowCounts.opened(eniKey, flows.vni(flow)); // a reopening SYN was let through the quota check
        } else {
            flowCounts.closed(eniKey, flows.vni(flow));
        }
    }

    private void flowGone(int flow) {
        if (flows.isReplica(flow)) {
            replicas--; // a copy its owner stopped refreshing (it no longer backs up here, or the flow went quiet)
            return;
        }
        replication.forget(flows, flow);
        counters.increment(Counter.FLOWS_EXPIRED);
        byte state = flows.state(flow);
        if (flows.isNatGateway(flow)) {
            natGatewayFlows.decrement(FlowCounts.eniKey(flows.eniVni(flow), flows.eniIp(flow)));
            if (!FlowState.isReclaimable(state)) {
                natConnections.decrement(natDestinationKey(flow));
                if (flows.protocol(flow) == Ipv4Header.PROTOCOL_TCP) {
                    countNat(flow, NatGatewayMetric.ACTIVE_CONNECTION_COUNT, -1);
                }
            }
            if (state == FlowState.TCP_ESTABLISHED || state == FlowState.UDP_REPLIED) {
                countNat(flow, NatGatewayMetric.IDLE_TIMEOUT_COUNT, 1); // went quiet, not closed by FIN or RST
            }
            return;
        }
        long eniKey = FlowCounts.eniKey(flows.eniVni(flow), flows.eniIp(flow));
        if (!FlowState.isReclaimable(state)) {
            flowCounts.closed(eniKey, flows.vni(flow));
        }
        flowCounts.portReleased(eniKey);
    }

    private long natDestinationKey(int flow) {
        return natDestinationKey(flows.eniVni(flow), flows.eniIp(flow), flows.protocol(flow), flows.remoteIp(flow), flows.remotePort(flow));
    }

    /** Adds to a NAT gateway flow's gateway's figure, when the gateway is still in the config. */
    private void countNat(int flow, NatGatewayMetric metric, int delta) {
        CompiledConfig c = config;
        int gw = c == null ? CompiledConfig.NONE : c.natGatewayByAddress(flows.eniVni(flow), flows.eniIp(flow));
        if (gw != CompiledConfig.NONE) {
            natCounters.add(gw, metric, delta);
        }
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

    /** Per NAT gateway of the running config, for the publisher on this thread. */
    public NatGatewayCounters natGatewayCounters() {
        return natCounters;
    }

    /** Open connections of NAT gateways to one destination (inspection and tests). */
    public long natConnections(int subnetVni, int gwIp, int proto, int destination, int destinationPort) {
        return natConnections.get(natDestinationKey(subnetVni, gwIp, proto, destination, destinationPort));
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
