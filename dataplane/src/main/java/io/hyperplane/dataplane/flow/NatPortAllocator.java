package io.hyperplane.dataplane.flow;

/**
 * Endpoint-dependent source NAT ports (RFC 4787 §4.1 "address and port-dependent mapping"):
 * a port from 1024..65535 that no other flow uses for the same (ENI, protocol,
 * destination address, destination port). ICMP echo uses the identifier as its "port".
 * <p>
 * Every port handed out is congruent to the flow's own source port modulo {@link #stride()}
 * (the node's forwarding threads): the kernel steers a datagram to thread
 * {@code (inner source port + inner destination port) mod threads}, and a reply carries the NAT
 * port where the request carried the source port, so both directions of a flow reach the thread
 * that owns it only if {@code natPort ≡ sourcePort (mod threads)} (docs/architecture.md, "The
 * node's duty cycle"). With a stride of 1 every port qualifies: one thread, as before.
 * <p>
 * Rules, in order:
 * <ol>
 *   <li>Keep the EE's own source port when it is in range and free (port preservation, as
 *       Linux masquerade does): it keeps captures readable, needs no search, and is trivially
 *       in the right residue class.</li>
 *   <li>Otherwise search the source port's residue class from a rotating cursor, so consecutive
 *       allocations find free ports at once. The search visits {@link #candidates} in order and
 *       asks one question of each ({@link #isFree}); a further restriction (ports owned by
 *       this node, say) is one more condition beside that question, not another search.</li>
 *   <li>A port held by a finished TCP flow (TIME_WAIT, CLOSED) is reclaimed rather than failing:
 *       under connection churn that is what keeps a destination from running dry.</li>
 *   <li>With every port of the class in use for that destination (64,512 / stride of them),
 *       fail: the caller counts port exhaustion.</li>
 * </ol>
 */
public final class NatPortAllocator {
    public static final int MIN_PORT = 1024; // AWS NAT gateway range: 1024-65535
    public static final int MAX_PORT = 65535;
    public static final int RANGE = MAX_PORT - MIN_PORT + 1;
    public static final int EXHAUSTED = -1;

    private final FlowTable flows;
    private final FlowTable.ExpiryListener reclaimed;
    private final int stride;
    /** Where the next search starts, as an index into a residue class (every class has at least RANGE / stride ports). */
    private int cursor;

    /** One thread: every port qualifies. */
    public NatPortAllocator(FlowTable flows, FlowTable.ExpiryListener reclaimed) {
        this(flows, reclaimed, 1);
    }

    /**
     * {@code reclaimed} is told about a finished flow before its port is given to a new one;
     * {@code stride} is the number of forwarding threads (1..RANGE): ports are handed out
     * congruent to the source port modulo it.
     */
    public NatPortAllocator(FlowTable flows, FlowTable.ExpiryListener reclaimed, int stride) {
        if (stride < 1 || stride > RANGE) {
            throw new IllegalArgumentException("stride " + stride + ": must be 1.." + RANGE);
        }
        this.flows = flows;
        this.reclaimed = reclaimed;
        this.stride = stride;
    }

    public int stride() {
        return stride;
    }

    /**
     * A port for a new flow of the ENI (subnet VNI, address) toward (protocol, remote, remote
     * port), congruent to {@code preferredPort} (the flow's source port or ICMP identifier,
     * 0..65535) modulo {@link #stride()}; {@link #EXHAUSTED} when none is free.
     */
    public int allocate(int eniVni, int eniIp, int protocol, int remoteIp, int remotePort, int preferredPort) {
        if (preferredPort >= MIN_PORT && isFree(eniVni, eniIp, protocol, remoteIp, remotePort, preferredPort)) {
            return preferredPort;
        }
        int first = firstOfClass(preferredPort);
        int candidates = candidates(first);
        int start = cursor % candidates;
        for (int i = 0; i < candidates; i++) {
            int index = start + i < candidates ? start + i : start + i - candidates;
            int port = first + index * stride;
            if (isFree(eniVni, eniIp, protocol, remoteIp, remotePort, port)) {
                cursor = index + 1;
                return port;
            }
        }
        return EXHAUSTED;
    }

    /** The lowest port of the range congruent to {@code port} modulo the stride. */
    private int firstOfClass(int port) {
        return MIN_PORT + Math.floorMod(port - MIN_PORT, stride);
    }

    /** How many ports of the range a residue class starting at {@code first} holds. */
    private int candidates(int first) {
        return (MAX_PORT - first) / stride + 1;
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
