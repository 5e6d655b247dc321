package io.hyperplane.dataplane.counters;

import io.hyperplane.packet.Malformation;

/**
 * Counter values owned by one forwarding thread: plain {@code long} slots, incremented without
 * locks or atomics. Other threads see them only through a publisher that copies them out once
 * per duty cycle (the node's counters file), never by reading these fields directly.
 * <p>
 * Malformed drops are also broken down by {@link Malformation} so a flood of one kind of garbage
 * is recognisable.
 */
public final class Counters {
    private final long[] values = new long[Counter.maxId() + 1];
    private final long[] malformations = new long[Malformation.values().length];

    public void increment(Counter counter) {
        values[counter.id()]++;
    }

    public void add(Counter counter, long delta) {
        values[counter.id()] += delta;
    }

    public void set(Counter counter, long value) {
        values[counter.id()] = value;
    }

    public long get(Counter counter) {
        return values[counter.id()];
    }

    public void malformed(Malformation malformation) {
        values[Counter.DROP_MALFORMED.id()]++;
        malformations[malformation.ordinal()]++;
    }

    public long malformedCount(Malformation malformation) {
        return malformations[malformation.ordinal()];
    }
}
