package io.hyperplane.dataplane.util;

import java.util.Arrays;

/**
 * Open-addressing {@code long -> int} map with linear probing and no removal, for VNIs and for
 * tuples packed into a {@code long} (a network and an address): built when a configuration is
 * compiled, then read on the hot path without allocation or boxing.
 */
public final class LongIntMap {
    public static final int MISSING = -1;

    private final long[] keys;
    private final int[] values;
    private final boolean[] used;
    private final int mask;
    private int size;

    /** A map that holds up to {@code expectedSize} entries at a load factor of at most 0.5. */
    public LongIntMap(int expectedSize) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedSize * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        used = new boolean[capacity];
        mask = capacity - 1;
        Arrays.fill(values, MISSING);
    }

    /** Packs a network (a VNI, or any small number) and an IPv4 address into one key. */
    public static long key(int network, int address) {
        return ((long) network << 32) | (address & 0xffff_ffffL);
    }

    /** The hash every long-keyed table here probes from (Fibonacci hashing, both halves folded). */
    public static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    /** Puts the value; returns the value it replaced, or {@link #MISSING}. */
    public int put(long key, int value) {
        int i = hash(key) & mask;
        while (used[i] && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (!used[i]) {
            if (size + 1 > (mask + 1) / 2) {
                throw new IllegalStateException("LongIntMap over capacity " + (mask + 1) / 2);
            }
            used[i] = true;
            keys[i] = key;
            size++;
        }
        int old = values[i];
        values[i] = value;
        return old;
    }

    /** The value for {@code key}, or {@link #MISSING}. */
    public int get(long key) {
        int i = hash(key) & mask;
        while (used[i]) {
            if (keys[i] == key) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return MISSING;
    }

    public int size() {
        return size;
    }
}
