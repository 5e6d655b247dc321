package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

class VxlanHeaderTest {
    private static final int AT = 37;

    @Test
    void shouldReadBackWhatSetWrote() {
        ByteBuffer b = Frames.sentinelBuffer(128);
        VxlanHeader vxlan = new VxlanHeader().wrap(b, AT);

        vxlan.set(0xab_cdef);

        assertThat(vxlan.flags()).isEqualTo(VxlanHeader.FLAG_I);
        assertThat(vxlan.hasValidVni()).isTrue();
        assertThat(vxlan.vni()).isEqualTo(0xab_cdef);
        assertThat(vxlan.offset()).isEqualTo(AT);
        assertThat(vxlan.buffer()).isSameAs(b);
        assertThat(new byte[] {b.get(AT + 1), b.get(AT + 2), b.get(AT + 3), b.get(AT + 7)})
                .as("reserved bits are written as zero (RFC 7348 §5)").containsOnly(0);
        assertThat(Frames.firstTouchedOutside(b, AT, AT + VxlanHeader.LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldMatchTheBytesOfAHandBuiltFrame() {
        byte[] frame = Frames.tcp().vni(VxlanHeader.MAX_VNI).build();
        ByteBuffer b = ByteBuffer.allocate(VxlanHeader.LENGTH);

        VxlanHeader vxlan = new VxlanHeader().wrap(b, 0);
        vxlan.set(VxlanHeader.MAX_VNI);

        assertThat(b.array()).containsExactly(Arrays.copyOf(frame, VxlanHeader.LENGTH));
    }

    @Test
    void shouldWriteEveryReservedBitAsZeroOverAReceivedHeader() {
        ByteBuffer b = ByteBuffer.allocate(16);
        VxlanHeader vxlan = new VxlanHeader().wrap(b, 4);
        vxlan.set(1);
        VxlanHeader.markRelayed(b, 4, 0xC612_0005); // a member's relay mark: a reserved flag bit and the reserved bytes
        b.put(4, (byte) 0xff);

        vxlan.set(0x12_3456);

        assertThat(vxlan.vni()).isEqualTo(0x12_3456);
        assertThat(vxlan.flags()).isEqualTo(VxlanHeader.FLAG_I);
        assertThat(VxlanHeader.isRelayed(b, 4)).isFalse();
        assertThat(VxlanHeader.relayedSource(b, 4)).isZero();
    }

    @Test
    void shouldRequireTheIFlagAndIgnoreReservedFlags() {
        ByteBuffer b = ByteBuffer.allocate(8);
        VxlanHeader vxlan = new VxlanHeader().wrap(b, 0);

        b.put(0, (byte) 0xf7);
        assertThat(vxlan.hasValidVni()).isFalse();
        b.put(0, (byte) 0x00);
        assertThat(vxlan.hasValidVni()).isFalse();
        b.put(0, (byte) 0xff);
        assertThat(vxlan.hasValidVni()).isTrue();
    }
}
