package io.hyperplane.dataplane.arp;

/**
 * MAC addresses of next hops inside VPC subnets, keyed by (subnet VNI, IPv4 address), learned
 * from ARP over the tunnel and valid for a fixed time. Open addressing over {@code long} keys;
 * entries are overwritten in place, never removed, so lookups stay tombstone-free. A full table
 * stops learning new neighbors (counted by the caller) rather than evicting live ones.
 */
public final class NeighborTable {
    public static final long MISSING = -1L;

    private final long[] keys;
    private final long[] macs;
    private final int[] expiresAt;
    private final int mask;
    private final int ttlSeconds;
    private int size;

    public NeighborTable(int capacity, int ttlSeconds) {
        int slots = Integer.highestOneBit(Math.max(4, capacity * 2 - 1)) << 1;
        keys = new long[slots];
        macs = new long[slots];
        expiresAt = new int[slots];
        mask = slots - 1;
        this.ttlSeconds = ttlSeconds;
    }

    static long key(int vni, int ip) {
        return ((long) vni << 32) | (ip & 0xffff_ffffL); // VNIs start at 1, so no key is 0
    }

    private static int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    /** The MAC for (vni, ip) if known and not expired at {@code now}, else {@link #MISSING}. */
    public long lookup(int vni, int ip, int now) {
        long key = key(vni, ip);
        int i = slot(key) & mask;
        long k;
        while ((k = keys[i]) != 0) {
            if (k == key) {
                return expiresAt[i] > now ? macs[i] : MISSING;
            }
            i = (i + 1) & mask;
        }
        return MISSING;
    }

    /** Records or refreshes a neighbor; false when the table is full and the entry is new. */
    public boolean learn(int vni, int ip, long mac, int now) {
        long key = key(vni, ip);
        int i = slot(key) & mask;
        long k;
        while ((k = keys[i]) != 0 && k != key) {
            i = (i + 1) & mask;
        }
        if (k == 0) {
            if (size + 1 > (mask + 1) / 2) {
                return false;
            }
            keys[i] = key;
            size++;
        }
        macs[i] = mac;
        expiresAt[i] = now + ttlSeconds;
        return true;
    }

    public int size() {
        return size;
    }
}
