package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class EthernetHeaderTest {
    private static final int AT = 41;

    @Test
    void shouldReadBackWhatTheSettersWrote() {
        ByteBuffer b = Frames.sentinelBuffer(128);
        EthernetHeader ethernet = new EthernetHeader().wrap(b, AT);

        ethernet.destination(0xffee_ddcc_bbaaL).source(0x0200_0a00_0105L).type(EthernetHeader.TYPE_ARP);

        assertThat(ethernet.destination()).isEqualTo(0xffee_ddcc_bbaaL);
        assertThat(ethernet.source()).isEqualTo(0x0200_0a00_0105L);
        assertThat(ethernet.type()).isEqualTo(EthernetHeader.TYPE_ARP);
        assertThat(Frames.firstTouchedOutside(b, AT, AT + EthernetHeader.LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldReadAHandBuiltFrame() {
        Frames.Builder spec = Frames.udp();
        ByteBuffer b = spec.buildAt(AT);
        EthernetHeader ethernet = new EthernetHeader().wrap(b, AT + Frames.ETHERNET_OFFSET);

        assertThat(ethernet.destination()).isEqualTo(spec.destinationMac);
        assertThat(ethernet.source()).isEqualTo(spec.sourceMac);
        assertThat(ethernet.type()).isEqualTo(EthernetHeader.TYPE_IPV4);
    }

    @Test
    void shouldKeepMacsTo48BitsAndTypesUnsigned() {
        ByteBuffer b = ByteBuffer.allocate(EthernetHeader.LENGTH);
        EthernetHeader ethernet = new EthernetHeader().wrap(b, 0);

        ethernet.destination(MacAddress.BROADCAST).source(0xffff_8000_0000_0001L).type(EthernetHeader.TYPE_IPV6);

        assertThat(ethernet.destination()).isEqualTo(MacAddress.BROADCAST);
        assertThat(ethernet.source()).isEqualTo(0x8000_0000_0001L);
        assertThat(ethernet.type()).isEqualTo(0x86dd);
    }
}
