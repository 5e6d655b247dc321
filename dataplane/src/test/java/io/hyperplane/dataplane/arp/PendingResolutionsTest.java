package io.hyperplane.dataplane.arp;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PendingResolutionsTest {
    private static final int VNI = 7001;
    private static final int SLOT = 64;

    @Test
    void shouldKeepTheNewestPacketsWhenANextHopsQueueIsFull() {
        PendingResolutions pending = new PendingResolutions(4, 16, 3, SLOT);
        int hop = pending.acquire(VNI, 0x0a000001, 0);
        for (int i = 1; i <= 5; i++) {
            pending.hold(hop, packet(i), 0, SLOT, 100 + i);
        }

        assertThat(held(pending, hop)).as("the head of a full queue goes, as the kernel's").containsExactly(3, 4, 5);
        assertThat(pending.takeDropped()).isEqualTo(2);
        assertThat(pending.takeDropped()).as("reported once").isZero();
        assertThat(pending.vtep(pending.firstPacket(hop))).isEqualTo(103);
    }

    @Test
    void shouldShareThePoolAndNotLetOneNextHopStarveANewOne() {
        PendingResolutions pending = new PendingResolutions(4, 4, 4, SLOT);
        int busy = pending.acquire(VNI, 0x0a000001, 0);
        for (int i = 1; i <= 4; i++) {
            pending.hold(busy, packet(i), 0, SLOT, 1);
        }
        int other = pending.acquire(VNI, 0x0a000002, 0);
        pending.hold(other, packet(9), 0, SLOT, 1);

        assertThat(held(pending, other)).as("an empty pool: the packet cannot wait").isEmpty();
        assertThat(pending.takeDropped()).isEqualTo(1);

        pending.release(busy);
        pending.hold(other, packet(10), 0, SLOT, 1);
        assertThat(held(pending, other)).as("released packets return to the pool").containsExactly(10);
    }

    @Test
    void shouldDropWhatARecycledNextHopHeld() {
        PendingResolutions pending = new PendingResolutions(2, 8, 4, SLOT);
        int oldest = pending.acquire(VNI, 0x0a000001, 0);
        pending.hold(oldest, packet(1), 0, SLOT, 1);
        pending.hold(oldest, packet(2), 0, SLOT, 1);
        pending.acquire(VNI, 0x0a000002, 1);

        int third = pending.acquire(VNI, 0x0a000003, 2);

        assertThat(third).isEqualTo(oldest);
        assertThat(pending.find(VNI, 0x0a000001)).isEqualTo(PendingResolutions.NONE);
        assertThat(pending.held(third)).isZero();
        assertThat(pending.takeDropped()).isEqualTo(2);
        assertThat(pending.used()).isEqualTo(2);
    }

    @Test
    void shouldNeverLosePacketSlotsAcrossManyResolutions() {
        PendingResolutions pending = new PendingResolutions(8, 32, 8, SLOT);
        for (int round = 0; round < 10_000; round++) {
            int hop = pending.acquire(VNI, 0x0a000000 + round % 11, round);
            for (int i = 0; i < round % 9; i++) {
                pending.hold(hop, packet(i), 0, SLOT, 1);
            }
            if (round % 3 != 0) {
                pending.release(hop);
            }
        }
        for (int s = 0; s < pending.slots(); s++) {
            pending.release(s);
        }
        pending.takeDropped();
        int hop = pending.acquire(VNI, 0x0a0000ff, 0);
        // Every packet is back in the pool: 4 next hops hold 8 each, all 32, and none is dropped.
        for (int h = 0; h < 4; h++) {
            int each = pending.acquire(VNI, 0x0b000000 + h, 0);
            for (int i = 0; i < 8; i++) {
                pending.hold(each, packet(i), 0, SLOT, 1);
            }
        }
        assertThat(pending.takeDropped()).isZero();
        assertThat(pending.held(hop)).isZero();
    }

    @Test
    void shouldRefuseSizesBelowOne() {
        assertThatThrownBy(() -> new PendingResolutions(1, 0, 1, SLOT)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0 packets");
    }

    private static ByteBuffer packet(int tag) {
        ByteBuffer b = ByteBuffer.allocate(SLOT);
        b.putInt(0, tag);
        return b;
    }

    private static List<Integer> held(PendingResolutions pending, int hop) {
        List<Integer> tags = new ArrayList<>();
        for (int p = pending.firstPacket(hop); p != PendingResolutions.NONE; p = pending.nextPacket(p)) {
            tags.add(pending.storage().getInt(pending.offset(p)));
        }
        return tags;
    }
}
