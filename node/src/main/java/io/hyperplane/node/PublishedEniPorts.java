package io.hyperplane.node;

import io.hyperplane.dataplane.counters.EniPortCounts;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * NAT ports in use per ENI address as the forwarding thread last published them, for threads that
 * report them elsewhere (the control plane's heartbeat). {@link EniPortCounts} is the forwarding
 * thread's own table and must not be read concurrently; this is its copy, made once per publish
 * interval into preallocated slots with release stores: no lock, no allocation on the forwarding
 * thread. Each slot packs (address, count) into one long, so a reader never pairs one ENI's
 * address with another's count; across slots it may see a mix of two publications, which a
 * once-a-second report can live with.
 */
final class PublishedEniPorts {
    /** An ENI address is never 0.0.0.0, so a zero slot is an empty one. */
    private static final long EMPTY = 0L;

    private final AtomicLongArray slots;

    PublishedEniPorts(int capacity) {
        this.slots = new AtomicLongArray(capacity);
    }

    /** Copies the counts in. Forwarding thread only. */
    void publish(EniPortCounts counts) {
        int written = 0;
        for (int s = 0; s < counts.slots() && written < slots.length(); s++) {
            if (counts.isUsed(s)) {
                long count = Math.clamp(counts.countAt(s), 0, 0xffff_ffffL);
                slots.setRelease(written++, ((long) counts.ipAt(s) << 32) | count);
            }
        }
        for (int s = written; s < slots.length() && slots.getPlain(s) != EMPTY; s++) {
            slots.setRelease(s, EMPTY);
        }
    }

    /** NAT ports in use on {@code eniIp} as last published; 0 when it has none (yet). Any thread. */
    long natPorts(int eniIp) {
        for (int s = 0; s < slots.length(); s++) {
            long slot = slots.getAcquire(s);
            if (slot == EMPTY) {
                return 0;
            }
            if ((int) (slot >>> 32) == eniIp) {
                return slot & 0xffff_ffffL;
            }
        }
        return 0;
    }
}
