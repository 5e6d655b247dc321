package io.hyperplane.dataplane.counters;

/**
 * NAT ports in use per ENI address (one per tracked flow). Keyed by address rather than by
 * config index so counts survive a reload. A fixed open-addressing table that never removes
 * keys: ENI addresses are few and a count may drop to zero and rise again.
 */
public final class EniPortCounts {
    private final int[] ips;
    private final long[] counts;
    private final boolean[] used;
    private final int mask;

    public EniPortCounts(int maxEnis) {
        int slots = Integer.highestOneBit(Math.max(4, maxEnis * 2 - 1)) << 1;
        ips = new int[slots];
        counts = new long[slots];
        used = new boolean[slots];
        mask = slots - 1;
    }

    public void increment(int eniIp) {
        int i = slot(eniIp, true);
        if (i >= 0) {
            counts[i]++;
        }
    }

    public void decrement(int eniIp) {
        int i = slot(eniIp, false);
        if (i >= 0) {
            counts[i]--;
        }
    }

    public long get(int eniIp) {
        int i = slot(eniIp, false);
        return i >= 0 ? counts[i] : 0;
    }

    private int slot(int ip, boolean insert) {
        int i = (ip * 0x9E3779B9 >>> 7) & mask;
        for (int probes = 0; probes <= mask; probes++) {
            if (!used[i]) {
                if (!insert) {
                    return -1;
                }
                used[i] = true;
                ips[i] = ip;
                return i;
            }
            if (ips[i] == ip) {
                return i;
            }
            i = (i + 1) & mask;
        }
        return -1; // more ENI addresses than slots: the count is not kept
    }

    /** Slots for publishing: iterate 0..slots()-1, skipping those not {@link #isUsed}. */
    public int slots() {
        return ips.length;
    }

    public boolean isUsed(int slot) {
        return used[slot];
    }

    public int ipAt(int slot) {
        return ips[slot];
    }

    public long countAt(int slot) {
        return counts[slot];
    }
}
