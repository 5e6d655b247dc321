package io.hyperplane.dataplane.util;

import java.util.Arrays;

/**
 * Open-addressing {@code int -> int} map with linear probing and no removal: built when a
 * configuration is compiled, then read on the hot path without allocation or boxing.
 */
public final class IntIntMap {
    public static final int MISSING = -1;

    private final int[] keys;
    private final int[] values;
    private final boolean[] used;
    private final int mask;
    private int size;

    /** A map that holds up to {@code expectedSize} entries at a load factor of at most 0.5. */
    public IntIntMap(int expectedSize) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedSize * 2 - 1)) << 1;
        keys = new int[capacity];
        values = new int[capacity];
        used = new boolean[capacity];
        mask = capacity - 1;
        Arrays.fill(values, MISSING);
    }

    public static int hash(int key) {
        int h = key * 0x9E3779B9;
        return h ^ (h >>> 16);
    }

    public void put(int key, int value) {
        int i = hash(key) & mask;
        while (used[i] && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (!used[i]) {
            if (size + 1 > (mask + 1) / 2) {
                throw new IllegalStateException("IntIntMap over capacity " + (mask + 1) / 2);
            }
            used[i] = true;
            keys[i] = key;
            size++;
        }
        values[i] = value;
    }

    /** The value for {@code key}, or {@link #MISSING}. */
    public int get(int key) {
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

    public int capacity() {
        return (mask + 1) / 2;
    }
}
