package io.hyperplane.dataplane.arp;

import java.nio.ByteBuffer;

/**
 * Next hops being resolved, each holding the latest packet that waits for the answer, like the
 * kernel's per-neighbour queue ({@code unres_qlen}) but one packet deep: a connection's first
 * SYN goes out as soon as the ARP reply arrives instead of waiting a retransmission.
 * Fixed pool, packets copied into preallocated storage; an older held packet is dropped (and
 * counted by the caller) when a newer one arrives or the pool is full.
 */
public final class PendingResolutions {
    public static final int NONE = -1;

    private final int slotSize;
    private final ByteBuffer storage;
    private final long[] keys;
    private final int[] requestedAt;
    private final int[] createdAt;
    private final int[] length;
    private final int[] vtep;
    private int used;
    private boolean lostHeld;

    public PendingResolutions(int slots, int slotSize) {
        this.slotSize = slotSize;
        storage = ByteBuffer.allocateDirect(slots * slotSize);
        keys = new long[slots];
        requestedAt = new int[slots];
        createdAt = new int[slots];
        length = new int[slots];
        vtep = new int[slots];
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
     * A slot for (vni, ip): the existing one, a free one, or the oldest one recycled. Returns the
     * slot; {@link #evictedHeldPacket()} tells whether a held packet was lost in the process.
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
        lostHeld = keys[victim] != 0 && length[victim] > 0;
        if (keys[victim] == 0) {
            used++;
        }
        keys[victim] = NeighborTable.key(vni, ip);
        createdAt[victim] = now;
        requestedAt[victim] = Integer.MIN_VALUE;
        length[victim] = 0;
        return victim;
    }

    public boolean evictedHeldPacket() {
        boolean lost = lostHeld;
        lostHeld = false;
        return lost;
    }

    /** Holds a copy of the packet; returns true when it replaced a packet already held. */
    public boolean hold(int slot, ByteBuffer source, int offset, int len, int destinationVtep) {
        boolean replaced = length[slot] > 0;
        int base = slot * slotSize;
        storage.put(base, source, offset, Math.min(len, slotSize));
        length[slot] = Math.min(len, slotSize);
        vtep[slot] = destinationVtep;
        return replaced;
    }

    /** True when no request went out for this slot in the last {@code intervalSeconds}. */
    public boolean shouldRequest(int slot, int now, int intervalSeconds) {
        if (requestedAt[slot] == Integer.MIN_VALUE || now - requestedAt[slot] >= intervalSeconds) {
            requestedAt[slot] = now;
            return true;
        }
        return false;
    }

    public ByteBuffer storage() {
        return storage;
    }

    public int offset(int slot) {
        return slot * slotSize;
    }

    public int length(int slot) {
        return length[slot];
    }

    public int vtep(int slot) {
        return vtep[slot];
    }

    public int createdAt(int slot) {
        return createdAt[slot];
    }

    public boolean isUsed(int slot) {
        return keys[slot] != 0;
    }

    public void release(int slot) {
        if (keys[slot] != 0) {
            used--;
        }
        keys[slot] = 0;
        length[slot] = 0;
    }

    public int slots() {
        return keys.length;
    }

    public int used() {
        return used;
    }
}
