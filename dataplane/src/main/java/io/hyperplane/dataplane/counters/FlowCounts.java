package io.hyperplane.dataplane.counters;

import io.hyperplane.dataplane.util.LongCountTable;
import io.hyperplane.dataplane.util.LongIntMap;

/**
 * Flows per owner, kept by the forwarding thread as flows come and go, keyed by what survives a
 * reload (never by config index):
 * <ul>
 *   <li>NAT ports held per ENI: every tracked flow holds one, finished TCP flows too until their
 *       port is reclaimed or they expire. What the heartbeat and {@code hyperplane stat} report.</li>
 *   <li>Open flows per ENI and per execution environment: flows not finished (a TCP flow in
 *       TIME_WAIT or CLOSED is not open; its port is reclaimed when needed). What the flow quotas
 *       bound, so one function cannot take the node's flow table from the others.</li>
 * </ul>
 * An ENI is (subnet VNI, address): the same address in two VPCs is two ENIs.
 */
public final class FlowCounts {
    private final LongCountTable portsByEni;
    private final LongCountTable openByEni;
    private final LongCountTable openByEnvironment;

    /** {@code maxEnis}, {@code maxEnvironments}: how many of each may hold flows at once on this node. */
    public FlowCounts(int maxEnis, int maxEnvironments) {
        portsByEni = new LongCountTable(maxEnis);
        openByEni = new LongCountTable(maxEnis);
        openByEnvironment = new LongCountTable(maxEnvironments);
    }

    public static long eniKey(int subnetVni, int eniIp) {
        return LongIntMap.key(subnetVni, eniIp);
    }

    public static int vniOf(long eniKey) {
        return (int) (eniKey >>> 32);
    }

    public static int ipOf(long eniKey) {
        return (int) eniKey;
    }

    /**
     * Counts a new open flow; false (nothing counted) when an owner would be new and its table is
     * full, which the caller treats as the quota reached.
     */
    public boolean opened(long eniKey, int environmentVni) {
        if (!openByEnvironment.increment(environmentVni)) {
            return false;
        }
        if (!openByEni.increment(eniKey)) {
            openByEnvironment.decrement(environmentVni);
            return false;
        }
        return true;
    }

    /** An open flow finished (TIME_WAIT, CLOSED) or went away while open. */
    public void closed(long eniKey, int environmentVni) {
        openByEnvironment.decrement(environmentVni);
        openByEni.decrement(eniKey);
    }

    /** A flow now holds a NAT port of its ENI; false when the ENI's count could not be kept (table full). */
    public boolean portTaken(long eniKey) {
        return portsByEni.increment(eniKey);
    }

    public void portReleased(long eniKey) {
        portsByEni.decrement(eniKey);
    }

    public long openOnEni(long eniKey) {
        return openByEni.get(eniKey);
    }

    public long openInEnvironment(int environmentVni) {
        return openByEnvironment.get(environmentVni);
    }

    public long natPorts(long eniKey) {
        return portsByEni.get(eniKey);
    }

    /** NAT ports per ENI for publishing: iterate 0..slots()-1, skipping slots whose {@link #eniAt} is 0. */
    public int slots() {
        return portsByEni.slots();
    }

    public long eniAt(int slot) {
        return portsByEni.keyAt(slot);
    }

    public long natPortsAt(int slot) {
        return portsByEni.countAt(slot);
    }
}
