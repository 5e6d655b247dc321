package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class UdpHeaderTest {
    private static final long SEED = 0x0d9_0001L;
    private static final int AT = 23;

    @Test
    void shouldReadBackWhatSetWrote() {
        ByteBuffer b = Frames.sentinelBuffer(64);
        UdpHeader udp = new UdpHeader().wrap(b, AT);

        udp.set(VxlanHeader.UDP_PORT, 65_535, 1480);

        assertThat(udp.sourcePort()).isEqualTo(VxlanHeader.UDP_PORT);
        assertThat(udp.destinationPort()).isEqualTo(65_535);
        assertThat(udp.length()).isEqualTo(1480);
        assertThat(udp.checksum()).as("absent").isZero();
        assertThat(Frames.firstTouchedOutside(b, AT, AT + UdpHeader.LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldWriteTheSameBytesAsAHandBuiltDatagram() {
        Frames.Builder spec = Frames.udp().udpChecksum(false);
        byte[] frame = spec.build();
        ByteBuffer b = ByteBuffer.allocate(UdpHeader.LENGTH);

        UdpHeader udp = new UdpHeader().wrap(b, 0);
        udp.set(spec.sourcePort, spec.destinationPort, spec.l4Length());

        assertThat(b.array()).containsExactly(Arrays.copyOfRange(frame, spec.l4Offset(), spec.l4Offset() + 8));
    }

    @Test
    void shouldKeepEveryChecksumValidAcrossPortAndAddressRewrites() {
        SplittableRandom random = new SplittableRandom(SEED);
        Ipv4Header ip = new Ipv4Header();
        UdpHeader udp = new UdpHeader();
        for (int i = 0; i < 20_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.UDP).udpChecksum(true);
            int at = random.nextInt(32);
            ByteBuffer b = spec.buildAt(at);
            ip.wrap(b, at + Frames.L3_OFFSET);
            udp.wrap(b, at + spec.l4Offset());
            String why = "seed %#x case %d".formatted(SEED, i);

            int source = random.nextInt(0x1_0000);
            int destination = random.nextInt(0x1_0000);
            udp.rewriteSourcePort(source).rewriteDestinationPort(destination);
            assertThat(udp.sourcePort()).isEqualTo(source);
            assertThat(udp.destinationPort()).isEqualTo(destination);
            assertValid(ip, udp, spec, why);

            int old = ip.destination();
            int address = random.nextInt();
            ip.rewriteDestination(address);
            udp.pseudoHeaderAddressChanged(old, address);
            assertValid(ip, udp, spec, why);
        }
    }

    private static void assertValid(Ipv4Header ip, UdpHeader udp, Frames.Builder spec, String why) {
        assertThat(ip.hasValidChecksum()).as(why).isTrue();
        assertThat(udp.checksum()).as(why + ": a present checksum never turns into 'absent'").isNotZero();
        assertThat(Checksums.transportValid(ip, udp.offset(), spec.l4Length())).as(why).isTrue();
        assertThat(Frames.transportChecksumValid(ip.buffer(), ip.offset())).as(why).isTrue();
        int incremental = udp.checksum();
        udp.checksum(0);
        int full = Checksums.transport(ip, udp.offset(), spec.l4Length());
        udp.checksum(incremental);
        assertThat(incremental).as(why).isEqualTo(full == 0 ? 0xffff : full);
    }

    @Test
    void shouldLeaveAnAbsentChecksumAbsent() {
        SplittableRandom random = new SplittableRandom(SEED + 1);
        for (int i = 0; i < 1_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.UDP).udpChecksum(false);
            ByteBuffer b = spec.buildAt(5);
            UdpHeader udp = new UdpHeader().wrap(b, 5 + spec.l4Offset());

            udp.rewriteSourcePort(random.nextInt(0x1_0000)).rewriteDestinationPort(random.nextInt(0x1_0000))
                    .pseudoHeaderAddressChanged(random.nextInt(), random.nextInt());

            assertThat(udp.checksum()).as("seed %#x case %d", SEED + 1, i).isZero();
        }
    }

    @Test
    void shouldSendAComputedZeroAsAllOnes() {
        Frames.Builder spec = Frames.udp();
        ByteBuffer b = spec.buildAt(AT);
        Ipv4Header ip = new Ipv4Header().wrap(b, AT + Frames.L3_OFFSET);
        UdpHeader udp = new UdpHeader().wrap(b, AT + spec.l4Offset());
        int port = portWhoseChecksumComputesToZero(b, ip, udp, spec.l4Length());

        udp.rewriteSourcePort(port);

        assertThat(udp.checksum()).as("RFC 768: a computed zero is transmitted as all ones").isEqualTo(0xffff);
        assertThat(Checksums.transportValid(ip, udp.offset(), spec.l4Length())).isTrue();

        udp.rewriteSourcePort(port ^ 0x0101);
        assertThat(udp.checksum()).as("and all ones updates like zero").isNotIn(0, 0xffff);
        assertThat(Checksums.transportValid(ip, udp.offset(), spec.l4Length())).isTrue();
        assertThat(Frames.transportChecksumValid(b, ip.offset())).isTrue();
    }

    private static int portWhoseChecksumComputesToZero(ByteBuffer b, Ipv4Header ip, UdpHeader udp, int l4Length) {
        ByteBuffer copy = ByteBuffer.allocate(b.capacity()).put(0, b, 0, b.capacity());
        int at = udp.offset();
        copy.putShort(at + UdpHeader.CHECKSUM_OFFSET, (short) 0);
        for (int port = 0; port <= 0xffff; port++) {
            copy.putShort(at + UdpHeader.SOURCE_PORT_OFFSET, (short) port);
            int pseudo = Frames.referencePseudoHeaderSum(ip.source(), ip.destination(), Ipv4Header.PROTOCOL_UDP, l4Length);
            if (Frames.referenceChecksum(copy, at, l4Length, pseudo) == 0) {
                return port;
            }
        }
        throw new AssertionError("no port makes the checksum zero");
    }
}
