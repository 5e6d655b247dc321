package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ArpPacketTest {
    private static final int AT = 19;

    @Test
    void shouldReadBackWhatSetWrote() {
        ByteBuffer b = Frames.sentinelBuffer(100);
        ArpPacket arp = new ArpPacket().wrap(b, AT);

        arp.set(ArpPacket.REPLY, 0x0200_0a00_0105L, 0x0a00_0105, 0xfe00_0a00_0209L, 0xc0a8_ff01);

        assertThat(arp.hardwareType()).isEqualTo(ArpPacket.HTYPE_ETHERNET);
        assertThat(arp.protocolType()).isEqualTo(EthernetHeader.TYPE_IPV4);
        assertThat(arp.hardwareLength()).isEqualTo(6);
        assertThat(arp.protocolLength()).isEqualTo(4);
        assertThat(arp.operation()).isEqualTo(ArpPacket.REPLY);
        assertThat(arp.senderMac()).isEqualTo(0x0200_0a00_0105L);
        assertThat(arp.senderIp()).isEqualTo(0x0a00_0105);
        assertThat(arp.targetMac()).isEqualTo(0xfe00_0a00_0209L);
        assertThat(arp.targetIp()).isEqualTo(0xc0a8_ff01);
        assertThat(Frames.firstTouchedOutside(b, AT, AT + ArpPacket.LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldWriteTheSameBytesAsAHandBuiltRequestAndReply() {
        for (Frames.Builder spec : new Frames.Builder[] {Frames.arpRequest(), Frames.arpReply()}) {
            byte[] frame = spec.build();
            ByteBuffer b = ByteBuffer.allocate(ArpPacket.LENGTH);

            ArpPacket arp = new ArpPacket().wrap(b, 0);
            arp.set(spec.kind == Frames.Kind.ARP_REQUEST ? ArpPacket.REQUEST : ArpPacket.REPLY,
                    spec.sourceMac, spec.source, spec.targetMac, spec.destination);

            assertThat(b.array()).as(spec.kind.toString())
                    .containsExactly(Arrays.copyOfRange(frame, Frames.L3_OFFSET, Frames.L3_OFFSET + ArpPacket.LENGTH));
        }
    }
}
