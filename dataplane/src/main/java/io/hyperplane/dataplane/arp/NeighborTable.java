package io.hyperplane.dataplane.arp;

import io.hyperplane.dataplane.util.LinearProbing;
import io.hyperplane.dataplane.util.LongCountTable;
import io.hyperplane.dataplane.util.LongIntMap;

/**
 * MAC addresses of next hops inside VPC subnets, keyed by (subnet VNI, IPv4 address), learned
 * from ARP over the tunnel and valid for a fixed time. Open addressing over {@code long} keys at a
 * load factor of at most 0.5. One writer: the forwarding thread.
 * <p>
 * The table is shared by every tenant, so it is bounded twice (DESIGN.md §9): in total
 * ({@code capacity}) and per subnet ({@code perNetwork}), so one subnet that answers from many
 * addresses fills its own share and no one else's. Expired entries are reclaimed by
 * {@link #expire}, a sweep with a budget per call that deletes them with backward shifts (no
 * tombstones), so addresses that come and go never fill the table.
 * <p>
 * A next hop in use is confirmed before its time runs out, as Linux re-probes a neighbour it is
 * sending to (RFC 1122 §2.3.2.1): in the last {@code refreshSeconds} of an entry, a lookup that
 * finds it tells the caller (once per {@code retrySeconds}) to ask again, and keeps answering
 * with the MAC it has. The answer, learned, renews the entry, so a next hop that answers never
 * lapses under traffic; one that stops answering still expires on time. Without this, every
 * next hop went dark for a round trip of ARP once a TTL, dropping all traffic to it, for
 * seconds when that round trip queued behind a burst (issue 15).
 */
public final class NeighborTable {
    public static final long MISSING = -1L;

    /** What {@link #learn} did. */
    public enum Learned { NEW, REFRESHED, TABLE_FULL, NETWORK_FULL }

    private final long[] keys;
    private final long[] macs;
    private final int[] expiresAt;
    private final int[] refreshAskedAt;
    private final int mask;
    private final int capacity;
    private final int perNetwork;
    private final int ttlSeconds;
    private final int refreshSeconds;
    private final int retrySeconds;
    private final LongCountTable perVni;
    private int size;
    private int sweepAt;
    /** Slot of the entry the last {@link #lookup} answered from, or -1. */
    private int found = -1;

    public NeighborTable(int capacity, int perNetwork, int ttlSeconds, int refreshSeconds, int retrySeconds) {
        if (capacity < 1 || perNetwork < 1) {
            throw new IllegalArgumentException("neighbor table capacity " + capacity + ", per network " + perNetwork + ": must be >= 1");
        }
        if (refreshSeconds < 1 || refreshSeconds > ttlSeconds || retrySeconds < 1) {
            throw new IllegalArgumentException("neighbor ttl " + ttlSeconds + " s, refresh " + refreshSeconds + " s, retry " + retrySeconds
                    + " s: refresh must be 1..ttl and retry >= 1");
        }
        int slots = Integer.highestOneBit(Math.max(4, capacity * 2 - 1)) << 1;
        keys = new long[slots];
        macs = new long[slots];
        expiresAt = new int[slots];
        refreshAskedAt = new int[slots];
        mask = slots - 1;
        this.capacity = capacity;
        this.perNetwork = perNetwork;
        this.ttlSeconds = ttlSeconds;
        this.refreshSeconds = refreshSeconds;
        this.retrySeconds = retrySeconds;
        perVni = new LongCountTable(capacity);
    }

    static long key(int vni, int ip) {
        return LongIntMap.key(vni, ip); // VNIs start at 1, so no key is 0
    }

    /** The MAC for (vni, ip) if known and not expired at {@code now}, else {@link #MISSING}. */
    public long lookup(int vni, int ip, int now) {
        found = -1;
        long key = key(vni, ip);
        int i = LongIntMap.hash(key) & mask;
        long k;
        while ((k = keys[i]) != 0) {
            if (k == key) {
                if (expiresAt[i] <= now) {
                    return MISSING;
                }
                found = i;
                return macs[i];
            }
            i = (i + 1) & mask;
        }
        return MISSING;
    }

    /**
     * Whether the caller should ask the neighbor the last {@link #lookup} found to confirm itself
     * now: it expires within {@code refreshSeconds} and was not asked in the last {@code
     * retrySeconds}. True at most once per retry interval; the entry counts as asked.
     */
    public boolean refreshDue(int now) {
        int i = found;
        if (i < 0 || now < expiresAt[i] - refreshSeconds || now - refreshAskedAt[i] < retrySeconds) {
            return false;
        }
        refreshAskedAt[i] = now;
        return true;
    }

    /** Records or refreshes a neighbor, unless the table or the subnet's share of it is full. */
    public Learned learn(int vni, int ip, long mac, int now) {
        long key = key(vni, ip);
        int i = LongIntMap.hash(key) & mask;
        long k;
        while ((k = keys[i]) != 0 && k != key) {
            i = (i + 1) & mask;
        }
        Learned result = Learned.REFRESHED;
        if (k == 0) {
            if (size == capacity) {
                return Learned.TABLE_FULL;
            }
            if (perVni.get(vni) >= perNetwork || !perVni.increment(vni)) {
                return Learned.NETWORK_FULL;
            }
            keys[i] = key;
            size++;
            result = Learned.NEW;
        }
        macs[i] = mac;
        expiresAt[i] = now + ttlSeconds;
        refreshAskedAt[i] = Integer.MIN_VALUE / 2; // never asked: the next refresh window asks at once
        return result;
    }

    /**
     * Deletes entries expired at {@code now}, visiting at most {@code budget} slots from where the
     * last call stopped. Returns the entries deleted.
     */
    public int expire(int now, int budget) {
        found = -1; // slots move below
        int deleted = 0;
        for (int visited = 0; visited < budget; visited++) {
            int i = sweepAt;
            if (keys[i] != 0 && expiresAt[i] <= now) {
                delete(i);
                deleted++;
                continue; // an entry may have shifted into this slot: look at it again
            }
            sweepAt = (i + 1) & mask;
        }
        return deleted;
    }

    private void delete(int hole) {
        perVni.decrement(keys[hole] >>> 32);
        keys[hole] = 0;
        size--;
        int j = hole;
        while (true) {
            j = (j + 1) & mask;
            long k = keys[j];
            if (k == 0) {
                return;
            }
            int home = LongIntMap.hash(k) & mask;
            if (LinearProbing.movesIntoHole(hole, j, home)) {
                keys[hole] = k;
                macs[hole] = macs[j];
                expiresAt[hole] = expiresAt[j];
                refreshAskedAt[hole] = refreshAskedAt[j];
                keys[j] = 0;
                hole = j;
            }
        }
    }

    public int size() {
        return size;
    }

    /** Entries learned on the subnet with this VNI and not yet reclaimed. */
    public long sizeOf(int vni) {
        return perVni.get(vni);
    }

    /** Slots in the table: the most one full sweep visits. */
    public int slots() {
        return keys.length;
    }
}
