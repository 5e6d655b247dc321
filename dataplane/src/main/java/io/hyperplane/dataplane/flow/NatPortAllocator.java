package io.hyperplane.dataplane.flow;

import io.hyperplane.config.fleet.FleetPlan;

/**
 * Endpoint-dependent source NAT ports (RFC 4787 §4.1 "address and port-dependent mapping"):
 * a port from 1024..65535 that no other flow uses for the same (ENI, protocol,
 * destination address, destination port). ICMP echo uses the identifier as its "port".
 * <p>
 * Every port handed out steers like the flow's own source port ({@link ThreadSteering}): the
 * kernel gives a datagram to the thread its inner ports' sum picks, and a reply carries the NAT
 * port where the request carried the source port, so both directions of a flow reach the thread
 * that owns it only if {@code thread(remotePort + natPort) == thread(remotePort + sourcePort)}
 * (docs/architecture.md, "The node's duty cycle"). With one thread every port qualifies.
 * <p>
 * In a fleet ({@link FleetPlan}) the port space is cut into {@link FleetPlan#PORT_BLOCKS} blocks
 * and a node hands out ports only from the blocks the plan gives it ({@link #ownBlocks}): VPC
 * routers send a reply to the owner of its destination port's block, so NAT ports never collide
 * across nodes and both directions of a flow meet on the node that created it (docs/fleet.md).
 * Without a plan, or alone, a node owns every block.
 * <p>
 * Rules, in order:
 * <ol>
 *   <li>Keep the EE's own source port when it is in range, in a block this node owns and free (port preservation, as
 *       Linux masquerade does): it keeps captures readable, needs no search, and trivially
 *       steers like itself.</li>
 *   <li>Otherwise search from a rotating cursor, so consecutive allocations find free ports at
 *       once, and take the first port that qualifies ({@link #qualifies}: it steers to the
 *       flow's thread and lies in a block this node owns) and is free. About one port in
 *       {@code threads} qualifies, spread evenly by the hash.</li>
 *   <li>A port held by a finished TCP flow (TIME_WAIT, CLOSED) is reclaimed rather than failing:
 *       under connection churn that is what keeps a destination from running dry.</li>
 *   <li>With every qualifying port in use for that destination (about 64,512 / threads), fail:
 *       the caller counts port exhaustion.</li>
 * </ol>
 */
public final class NatPortAllocator {
    public static final int MIN_PORT = 1024; // AWS NAT gateway range: 1024-65535
    public static final int MAX_PORT = 65535;
    public static final int RANGE = MAX_PORT - MIN_PORT + 1;
    public static final int EXHAUSTED = -1;
    /** Every block: no plan, or the only member. */
    public static final int ALL_BLOCKS = (1 << FleetPlan.PORT_BLOCKS) - 1;

    private final FlowTable flows;
    private final FlowTable.ExpiryListener reclaimed;
    private final ThreadSteering steering;
    private int cursor;
    private int ownedBlocks = ALL_BLOCKS;

    /** One thread: every port qualifies. */
    public NatPortAllocator(FlowTable flows, FlowTable.ExpiryListener reclaimed) {
        this(flows, reclaimed, ThreadSteering.ONE);
    }

    /**
     * {@code reclaimed} is told about a finished flow before its port is given to a new one;
     * {@code steering} says which thread a port sum belongs to: ports are handed out that steer
     * like the flow's source port.
     */
    public NatPortAllocator(FlowTable flows, FlowTable.ExpiryListener reclaimed, ThreadSteering steering) {
        this.flows = flows;
        this.reclaimed = reclaimed;
        this.steering = steering;
    }

    /**
     * From now on, hand out ports only from these blocks (bit b: {@link FleetPlan#blockOf} b).
     * Flows already open keep their ports. Call on the forwarding thread, between packets.
     */
    public void ownBlocks(int blocks) {
        if (blocks == 0 || (blocks & ~ALL_BLOCKS) != 0) {
            throw new IllegalArgumentException("owned port blocks 0x" + Integer.toHexString(blocks) + ": must be a non-empty subset of 0x"
                    + Integer.toHexString(ALL_BLOCKS));
        }
        ownedBlocks = blocks;
    }

    /** The blocks ports are handed out from. */
    public int ownedBlocks() {
        return ownedBlocks;
    }

    /** Whether this node may hand out {@code port} (1024..65535). */
    public boolean owns(int port) {
        return ownedBlocks == ALL_BLOCKS || (ownedBlocks & (1 << FleetPlan.blockOf(port))) != 0;
    }

    /**
     * A port for a new flow of the ENI (subnet VNI, address) toward (protocol, remote, remote
     * port; 0 for ICMP) from {@code preferredPort} (the flow's source port or ICMP identifier,
     * 0..65535), steering to the same thread; {@link #EXHAUSTED} when none is free.
     */
    public int allocate(int eniVni, int eniIp, int protocol, int remoteIp, int remotePort, int preferredPort) {
        if (preferredPort >= MIN_PORT && owns(preferredPort) && isFree(eniVni, eniIp, protocol, remoteIp, remotePort, preferredPort)) {
            return preferredPort;
        }
        int thread = steering.thread(remotePort + preferredPort);
        int start = cursor;
        for (int i = 0; i < RANGE; i++) {
            int index = start + i < RANGE ? start + i : start + i - RANGE;
            int port = MIN_PORT + index;
            if (qualifies(port, remotePort, thread) && isFree(eniVni, eniIp, protocol, remoteIp, remotePort, port)) {
                cursor = index + 1 == RANGE ? 0 : index + 1;
                return port;
            }
        }
        return EXHAUSTED;
    }

    /** Whether a reply to {@code port} would reach this node and {@code thread}, the flow's. */
    private boolean qualifies(int port, int remotePort, int thread) {
        return owns(port) && steering.thread(remotePort + port) == thread;
    }

    private boolean isFree(int eniVni, int eniIp, int protocol, int remoteIp, int remotePort, int port) {
        int f = flows.findReverse(protocol, remoteIp, remotePort, eniVni, eniIp, port);
        if (f == FlowTable.NONE) {
            return true;
        }
        if (FlowState.isReclaimable(flows.state(f))) {
            reclaimed.expired(f);
            flows.remove(f);
            return true;
        }
        return false;
    }
}
