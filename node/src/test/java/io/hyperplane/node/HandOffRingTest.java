package io.hyperplane.node;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HandOffRingTest {

    @Test
    void shouldHandOverInOrderAndRefuseWhenFull() {
        HandOffRing ring = new HandOffRing(4, 16);
        assertThat(ring.peek()).isEqualTo(-1);
        for (int i = 0; i < 4; i++) {
            assertThat(ring.offer(datagram(i, 10), 0, 10, 100 + i)).isTrue();
        }
        assertThat(ring.offer(datagram(9, 10), 0, 10, 109)).as("full").isFalse();
        for (int i = 0; i < 4; i++) {
            int slot = ring.peek();
            assertThat(ring.length(slot)).isEqualTo(10);
            assertThat(ring.sourceIp(slot)).isEqualTo(100 + i);
            assertThat(ring.storage().get(ring.offset(slot))).isEqualTo((byte) i);
            ring.release();
        }
        assertThat(ring.peek()).isEqualTo(-1);
        assertThat(ring.offer(datagram(5, 16), 0, 16, 1)).as("room again, and a datagram the size of a slot fits").isTrue();
    }

    @Test
    void shouldRefuseADatagramLargerThanASlot() {
        HandOffRing ring = new HandOffRing(4, 16);
        assertThat(ring.offer(datagram(1, 17), 0, 17, 1)).isFalse();
        assertThat(ring.peek()).isEqualTo(-1);
    }

    @Test
    void shouldRefuseAnEmptyRing() {
        assertThatThrownBy(() -> new HandOffRing(0, 16)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 slots");
    }

    /** One producer thread, one consumer thread: every datagram arrives once, whole and in order. */
    @Test
    @Timeout(20)
    void shouldCarryEveryDatagramIntactBetweenTwoThreads() throws InterruptedException {
        HandOffRing ring = new HandOffRing(8, 64);
        int count = 200_000;
        Thread producer = Thread.ofPlatform().start(() -> {
            ByteBuffer b = ByteBuffer.allocate(64);
            for (int i = 0; i < count; ) {
                b.putInt(0, i);
                b.putInt(60, ~i);
                if (ring.offer(b, 0, 8 + i % 57, i)) {
                    i++;
                } else {
                    Thread.onSpinWait();
                }
            }
        });
        for (int expected = 0; expected < count; ) {
            int slot = ring.peek();
            if (slot < 0) {
                Thread.onSpinWait();
                continue;
            }
            assertThat(ring.sourceIp(slot)).isEqualTo(expected);
            assertThat(ring.length(slot)).isEqualTo(8 + expected % 57);
            assertThat(ring.storage().getInt(ring.offset(slot))).isEqualTo(expected);
            ring.release();
            expected++;
        }
        producer.join();
    }

    private static ByteBuffer datagram(int first, int length) {
        ByteBuffer b = ByteBuffer.allocate(length);
        b.put(0, (byte) first);
        return b;
    }
}
