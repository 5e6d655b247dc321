package io.hyperplane.dataplane.flow;

/**
 * Endpoint-dependent source NAT ports (RFC 4787 §4.1 "address and port-dependent mapping"):
 * a port from 1024..65535 that no other flow uses for the same (ENI, protocol,
 * destination address, destination port). ICMP echo uses the identifier as its "port".
 * <p>
 * Rules, in order:
 * <ol>
 *   <li>Keep the EE's own source port when it is in range and free (port preservation, as
 *       Linux masquerade does): it keeps captures readable and needs no search.</li>
 *   <li>Otherwise search from a rotating cursor, so consecutive allocations find free ports at once.</li>
 *   <li>A port held by a finished TCP flow (TIME_WAIT, CLOSED) is reclaimed rather than failing:
 *       under connection churn that is what keeps a destination from running dry.</li>
 *   <li>With all 64,512 ports in use for that destination, fail: the caller counts port exhaustion.</li>
 * </ol>
 */
public final class NatPortAllocator {
    public static final int MIN_PORT = 1024; // AWS NAT gateway range: 1024-65535
    public static final int MAX_PORT = 65535;
    public static final int RANGE = MAX_PORT - MIN_PORT + 1;
    public static final int EXHAUSTED = -1;

    private final FlowTable flows;
    private final FlowTable.ExpiryListener reclaimed;
    private int cursor;

    /** {@code reclaimed} is told about a finished flow before its port is given to a new one. */
    public NatPortAllocator(FlowTable flows, FlowTable.ExpiryListener reclaimed) {
        this.flows = flows;
        this.reclaimed = reclaimed;
    }

    /** A port for a new flow of the ENI (subnet VNI, address) toward (protocol, remote, remote port). */
    public int allocate(int eniVni, int eniIp, int protocol, int remoteIp, int remotePort, int preferredPort) {
        if (preferredPort >= MIN_PORT && isFree(eniVni, eniIp, protocol, remoteIp, remotePort, preferredPort)) {
            return preferredPort;
        }
        int start = cursor;
        for (int i = 0; i < RANGE; i++) {
            int port = MIN_PORT + (start + i) % RANGE;
            if (isFree(eniVni, eniIp, protocol, remoteIp, remotePort, port)) {
                cursor = (start + i + 1) % RANGE;
                return port;
            }
        }
        return EXHAUSTED;
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
