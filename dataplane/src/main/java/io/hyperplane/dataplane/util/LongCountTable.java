package io.hyperplane.dataplane.util;

/**
 * Counts per {@code long} key (never 0), for as many keys as have a non-zero count, up to a fixed
 * capacity: flows per ENI (network and address) and per execution environment (VNI). One writer.
 * Open addressing with linear probing at a load factor of at most 0.5; a key whose count returns
 * to zero is removed by backward-shift deletion, so the table holds only what is in use and a key
 * that comes and goes never fills it. No allocation after construction.
 */
public final class LongCountTable {
    private final long[] keys;
    private final int[] counts; // a count never exceeds the flow table's capacity (at most 2^28)
    private final int mask;
    private final int capacity;
    private int size;

    /** Room for {@code capacity} keys with a non-zero count at once. */
    public LongCountTable(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("count table capacity " + capacity + ": must be >= 1");
        }
        int slots = Integer.highestOneBit(Math.max(4, capacity * 2 - 1)) << 1;
        keys = new long[slots];
        counts = new int[slots];
        mask = slots - 1;
        this.capacity = capacity;
    }

    /** Adds one to {@code key}'s count; false (nothing changed) when the key is new and the table full. */
    public boolean increment(long key) {
        int i = LongIntMap.hash(key) & mask;
        long k;
        while ((k = keys[i]) != 0 && k != key) {
            i = (i + 1) & mask;
        }
        if (k == 0) {
            if (size == capacity) {
                return false;
            }
            keys[i] = key;
            size++;
        }
        counts[i]++;
        return true;
    }

    /** Takes one from {@code key}'s count, removing the key at zero; a key not counted is ignored. */
    public void decrement(long key) {
        int i = find(key);
        if (i < 0) {
            return;
        }
        if (--counts[i] <= 0) {
            delete(i);
        }
    }

    /** The count for {@code key}; 0 when it has none. */
    public long get(long key) {
        int i = find(key);
        return i < 0 ? 0 : counts[i];
    }

    public int size() {
        return size;
    }

    public int capacity() {
        return capacity;
    }

    /** Slots for publishing: iterate 0..slots()-1, skipping those whose {@link #keyAt} is 0. */
    public int slots() {
        return keys.length;
    }

    public long keyAt(int slot) {
        return keys[slot];
    }

    public long countAt(int slot) {
        return counts[slot];
    }

    private int find(long key) {
        int i = LongIntMap.hash(key) & mask;
        long k;
        while ((k = keys[i]) != 0) {
            if (k == key) {
                return i;
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    private void delete(int hole) {
        keys[hole] = 0;
        counts[hole] = 0;
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
                counts[hole] = counts[j];
                keys[j] = 0;
                counts[j] = 0;
                hole = j;
            }
        }
    }
}
