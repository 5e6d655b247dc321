package io.hyperplane.dataplane.arp;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Next hops being resolved, each with the packets that wait for the answer, oldest first, like
 * the kernel's per-neighbour queue ({@code unres_qlen}): a burst of connections to a next hop not
 * yet known (fifty environments starting at once behind a new ENI) all go out when the ARP reply
 * arrives, instead of all but the last waiting a SYN retransmission (one second, then three).
 * <p>Fixed pools, no allocation: next hops in one, held packets in another, copied into
 * preallocated storage and chained per next hop. A next hop holds at most {@link #perHop}
 * packets; past that, or when the packet pool is empty, its oldest is dropped for the newer
 * one, as the kernel drops the head of a full queue. A next hop recycled for a new one (the
 * oldest, when every one is in use) drops what it held. The caller counts every drop.
 */
public final class PendingResolutions {
    public static final int NONE = -1;

    private final int slotSize;
    private final int perHop;
    // Next hops.
    private final long[] keys;
    private final int[] requestedAt;
    private final int[] createdAt;
    private final int[] first;
    private final int[] last;
    private final int[] held;
    private int used;
    // Packets: a free list and one chain per next hop, through next[].
    private final ByteBuffer storage;
    private final int[] length;
    private final int[] vtep;
    private final int[] next;
    private int free;
    private int dropped;

    /**
     * @param hops     next hops resolved at once
     * @param packets  packets held at once, over all of them
     * @param perHop   packets one next hop may hold
     * @param slotSize bytes of a held packet (longer ones are cut: the caller's slot size is a frame's)
     */
    public PendingResolutions(int hops, int packets, int perHop, int slotSize) {
        if (hops < 1 || packets < 1 || perHop < 1 || slotSize < 1) {
            throw new IllegalArgumentException("pending resolutions: " + hops + " next hops, " + packets + " packets, "
                    + perHop + " per next hop, " + slotSize + " bytes each: all must be >= 1");
        }
        this.slotSize = slotSize;
        this.perHop = perHop;
        keys = new long[hops];
        requestedAt = new int[hops];
        createdAt = new int[hops];
        first = new int[hops];
        last = new int[hops];
        held = new int[hops];
        Arrays.fill(first, NONE);
        Arrays.fill(last, NONE);
        storage = ByteBuffer.allocateDirect(packets * slotSize);
        length = new int[packets];
        vtep = new int[packets];
        next = new int[packets];
        for (int p = 0; p < packets; p++) {
            next[p] = p + 1 < packets ? p + 1 : NONE;
        }
        free = 0;
    }

    public int find(int vni, int ip) {
        long key = NeighborTable.key(vni, ip);
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == key) {
                return i;
            }
        }
        return NONE;
    }

    /**
     * A slot for (vni, ip): the existing one, a free one, or the oldest one recycled (what it
     * held is dropped: see {@link #takeDropped()}).
     */
    public int acquire(int vni, int ip, int now) {
        int existing = find(vni, ip);
        if (existing != NONE) {
            return existing;
        }
        int victim = 0;
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == 0) {
                victim = i;
                break;
            }
            if (createdAt[i] < createdAt[victim]) {
                victim = i;
            }
        }
        if (keys[victim] != 0) {
            dropped += held[victim];
            release(victim);
        }
        used++;
        keys[victim] = NeighborTable.key(vni, ip);
        createdAt[victim] = now;
        requestedAt[victim] = Integer.MIN_VALUE;
        return victim;
    }

    /** Holds a copy of the packet at the end of the slot's queue, dropping its oldest when the slot or the pool is full. */
    public void hold(int slot, ByteBuffer source, int offset, int len, int destinationVtep) {
        if (held[slot] >= perHop || free == NONE) {
            if (held[slot] == 0) {
                dropped++; // the pool is lent out to other next hops: this one cannot wait
                return;
            }
            dropOldest(slot);
        }
        int p = free;
        free = next[p];
        next[p] = NONE;
        int n = Math.min(len, slotSize);
        storage.put(p * slotSize, source, offset, n);
        length[p] = n;
        vtep[p] = destinationVtep;
        if (last[slot] == NONE) {
            first[slot] = p;
        } else {
            next[last[slot]] = p;
        }
        last[slot] = p;
        held[slot]++;
    }

    private void dropOldest(int slot) {
        int p = first[slot];
        first[slot] = next[p];
        if (first[slot] == NONE) {
            last[slot] = NONE;
        }
        next[p] = free;
        free = p;
        held[slot]--;
        dropped++;
    }

    /** Packets dropped since the last call (recycled next hops, full queues), for the caller's counter. */
    public int takeDropped() {
        int n = dropped;
        dropped = 0;
        return n;
    }

    /** True when no request went out for this slot in the last {@code intervalSeconds}. */
    public boolean shouldRequest(int slot, int now, int intervalSeconds) {
        if (requestedAt[slot] == Integer.MIN_VALUE || now - requestedAt[slot] >= intervalSeconds) {
            requestedAt[slot] = now;
            return true;
        }
        return false;
    }

    /** The slot's oldest held packet, or {@link #NONE}; {@link #nextPacket} walks on in arrival order. */
    public int firstPacket(int slot) {
        return first[slot];
    }

    public int nextPacket(int packet) {
        return next[packet];
    }

    public ByteBuffer storage() {
        return storage;
    }

    public int offset(int packet) {
        return packet * slotSize;
    }

    public int length(int packet) {
        return length[packet];
    }

    public int vtep(int packet) {
        return vtep[packet];
    }

    /** Packets the slot holds. */
    public int held(int slot) {
        return held[slot];
    }

    public int createdAt(int slot) {
        return createdAt[slot];
    }

    public boolean isUsed(int slot) {
        return keys[slot] != 0;
    }

    /** Frees the slot and the packets it held (sent or dropped: the caller has done either). */
    public void release(int slot) {
        if (keys[slot] != 0) {
            used--;
        }
        keys[slot] = 0;
        if (last[slot] != NONE) {
            next[last[slot]] = free;
            free = first[slot];
        }
        first[slot] = NONE;
        last[slot] = NONE;
        held[slot] = 0;
    }

    public int slots() {
        return keys.length;
    }

    public int used() {
        return used;
    }
}
