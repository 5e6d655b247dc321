package io.hyperplane.node;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded single-producer, single-consumer queue of small datagrams between two forwarding
 * threads: thread 0, which the kernel gives every ARP frame, copies each neighbour answer into
 * the ring of every other thread, so that each learns the next hops it resolves itself. Fixed
 * slots in one direct buffer, preallocated: {@link #offer} copies in, {@link #peek} and
 * {@link #release} read in place, and neither side allocates or locks. A full ring refuses (the
 * producer counts a drop): a datagram handed off late is worth less than a producer that never waits.
 * <pre>
 *   producer: tail --> [slot][slot][slot][    ][    ] <-- head: consumer
 *   slot i: bytes at i * slotSize, length[i], sourceIp[i]
 * </pre>
 * {@code tail} is published with release semantics after the slot is written; {@code head}
 * after it is read, so the producer never overwrites a slot being read.
 */
final class HandOffRing {
    private final int slots;
    private final int slotSize;
    private final ByteBuffer storage;
    private final int[] length;
    private final int[] sourceIp;
    /** Written by the producer only. */
    private final AtomicLong tail = new AtomicLong();
    /** Written by the consumer only. */
    private final AtomicLong head = new AtomicLong();

    HandOffRing(int slots, int slotSize) {
        if (slots < 1 || slotSize < 1) {
            throw new IllegalArgumentException("hand-off ring of " + slots + " slots of " + slotSize + " bytes: both must be >= 1");
        }
        this.slots = slots;
        this.slotSize = slotSize;
        this.storage = ByteBuffer.allocateDirect(slots * slotSize);
        this.length = new int[slots];
        this.sourceIp = new int[slots];
    }

    /** Copies the datagram in; false when the ring is full or it does not fit a slot. Producer only. */
    boolean offer(ByteBuffer from, int offset, int bytes, int source) {
        long t = tail.getPlain();
        if (bytes > slotSize || t - head.getAcquire() == slots) {
            return false;
        }
        int slot = (int) (t % slots);
        storage.put(slot * slotSize, from, offset, bytes);
        length[slot] = bytes;
        sourceIp[slot] = source;
        tail.setRelease(t + 1);
        return true;
    }

    /** The oldest datagram's slot, or -1 when the ring is empty. Consumer only; {@link #release} it after reading. */
    int peek() {
        long h = head.getPlain();
        return h == tail.getAcquire() ? -1 : (int) (h % slots);
    }

    /** Frees the slot {@link #peek} returned. Consumer only. */
    void release() {
        head.setRelease(head.getPlain() + 1);
    }

    /** Where every slot's bytes live; slot {@code i} starts at {@link #offset offset(i)}. */
    ByteBuffer storage() {
        return storage;
    }

    int offset(int slot) {
        return slot * slotSize;
    }

    int length(int slot) {
        return length[slot];
    }

    int sourceIp(int slot) {
        return sourceIp[slot];
    }
}
