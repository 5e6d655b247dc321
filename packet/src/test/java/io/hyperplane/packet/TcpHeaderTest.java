package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TcpHeaderTest {
    private static final long SEED = 0x7c9_0001L;
    private static final int AT = 29;

    @Test
    void shouldReadBackWhatSetWrote() {
        ByteBuffer b = Frames.sentinelBuffer(100);
        TcpHeader tcp = new TcpHeader().wrap(b, AT);

        tcp.set(65_535, 1, -1, 0x8000_0000, TcpHeader.SYN | TcpHeader.ACK, 0xfffe);

        assertThat(tcp.sourcePort()).isEqualTo(65_535);
        assertThat(tcp.destinationPort()).isEqualTo(1);
        assertThat(tcp.sequence()).isEqualTo(-1);
        assertThat(tcp.acknowledgment()).isEqualTo(0x8000_0000);
        assertThat(tcp.headerLength()).isEqualTo(TcpHeader.MIN_LENGTH);
        assertThat(tcp.flags()).isEqualTo(TcpHeader.SYN | TcpHeader.ACK);
        assertThat(b.getShort(AT + TcpHeader.WINDOW_OFFSET) & 0xffff).isEqualTo(0xfffe);
        assertThat(tcp.checksum()).isZero();
        assertThat(b.getShort(AT + 18)).as("urgent pointer").isZero();
        assertThat(Frames.firstTouchedOutside(b, AT, AT + TcpHeader.MIN_LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldReadAHandBuiltSegmentWithOptions() {
        Frames.Builder spec = Frames.tcp().ipOptionWords(1).tcpOptionWords(10).sourcePort(1).destinationPort(65_535)
                .sequence(0x8000_0001).acknowledgment(7).tcpFlags(TcpHeader.FIN | TcpHeader.RST);
        ByteBuffer b = spec.buildAt(AT);
        TcpHeader tcp = new TcpHeader().wrap(b, AT + spec.l4Offset());

        assertThat(tcp.sourcePort()).isEqualTo(1);
        assertThat(tcp.destinationPort()).isEqualTo(65_535);
        assertThat(tcp.sequence()).isEqualTo(0x8000_0001);
        assertThat(tcp.acknowledgment()).isEqualTo(7);
        assertThat(tcp.headerLength()).isEqualTo(60);
        assertThat(tcp.flags()).isEqualTo(TcpHeader.FIN | TcpHeader.RST);
    }

    @Test
    void shouldWriteTheSameBytesAsAHandBuiltSegment() {
        Frames.Builder spec = Frames.tcp();
        byte[] frame = spec.build();
        ByteBuffer b = ByteBuffer.wrap(frame.clone());
        Arrays.fill(b.array(), spec.l4Offset(), spec.l4Offset() + TcpHeader.MIN_LENGTH, (byte) 0);
        Ipv4Header ip = new Ipv4Header().wrap(b, Frames.L3_OFFSET);
        TcpHeader tcp = new TcpHeader().wrap(b, spec.l4Offset());

        tcp.set(spec.sourcePort, spec.destinationPort, spec.sequence, spec.acknowledgment, spec.tcpFlags, spec.window);
        tcp.checksum(Checksums.transport(ip, spec.l4Offset(), spec.l4Length()));

        assertThat(b.array()).containsExactly(frame);
    }

    @Test
    void shouldKeepTheChecksumValidAcrossPortRewrites() {
        SplittableRandom random = new SplittableRandom(SEED);
        Ipv4Header ip = new Ipv4Header();
        TcpHeader tcp = new TcpHeader();
        for (int i = 0; i < 20_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.TCP);
            int at = random.nextInt(32);
            ByteBuffer b = spec.buildAt(at);
            ip.wrap(b, at + Frames.L3_OFFSET);
            tcp.wrap(b, at + spec.l4Offset());
            String why = "seed %#x case %d".formatted(SEED, i);

            int source = random.nextInt(0x1_0000);
            int destination = random.nextInt(0x1_0000);
            tcp.rewriteSourcePort(source).rewriteDestinationPort(destination);

            assertThat(tcp.sourcePort()).isEqualTo(source);
            assertThat(tcp.destinationPort()).isEqualTo(destination);
            assertValid(ip, tcp, spec, at, why);
        }
    }

    @Test
    void shouldKeepEveryChecksumValidAcrossSourceAndDestinationNat() {
        SplittableRandom random = new SplittableRandom(SEED + 1);
        Ipv4Header ip = new Ipv4Header();
        TcpHeader tcp = new TcpHeader();
        for (int i = 0; i < 20_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.TCP);
            int at = random.nextInt(32);
            ByteBuffer b = spec.buildAt(at);
            ip.wrap(b, at + Frames.L3_OFFSET);
            tcp.wrap(b, at + spec.l4Offset());
            String why = "seed %#x case %d".formatted(SEED + 1, i);

            int oldSource = ip.source();
            int newSource = random.nextInt();
            ip.rewriteSource(newSource);
            tcp.pseudoHeaderAddressChanged(oldSource, newSource).rewriteSourcePort(random.nextInt(0x1_0000));
            assertValid(ip, tcp, spec, at, why);

            int oldDestination = ip.destination();
            int newDestination = random.nextInt();
            ip.rewriteDestination(newDestination);
            tcp.pseudoHeaderAddressChanged(oldDestination, newDestination).rewriteDestinationPort(random.nextInt(0x1_0000));
            assertValid(ip, tcp, spec, at, why);
        }
    }

    private static void assertValid(Ipv4Header ip, TcpHeader tcp, Frames.Builder spec, int at, String why) {
        assertThat(ip.hasValidChecksum()).as(why).isTrue();
        assertThat(Checksums.transportValid(ip, tcp.offset(), spec.l4Length())).as(why).isTrue();
        assertThat(Frames.transportChecksumValid(ip.buffer(), ip.offset())).as(why).isTrue();
        int incremental = tcp.checksum();
        tcp.checksum(0);
        int full = Checksums.transport(ip, tcp.offset(), spec.l4Length());
        tcp.checksum(incremental);
        assertThat(incremental).as(why + ": incremental equals full recomputation").isEqualTo(full);
    }

    @Test
    void shouldKeepAWrongChecksumWrongAcrossRewrites() {
        SplittableRandom random = new SplittableRandom(SEED + 2);
        Ipv4Header ip = new Ipv4Header();
        TcpHeader tcp = new TcpHeader();
        for (int i = 0; i < 5_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.TCP);
            ByteBuffer b = spec.buildAt(0);
            ip.wrap(b, Frames.L3_OFFSET);
            tcp.wrap(b, spec.l4Offset());
            tcp.checksum(tcp.checksum() ^ (1 << random.nextInt(16)));

            int old = ip.source();
            int address = random.nextInt();
            ip.rewriteSource(address);
            tcp.pseudoHeaderAddressChanged(old, address).rewriteSourcePort(random.nextInt(0x1_0000))
                    .rewriteDestinationPort(random.nextInt(0x1_0000));

            assertThat(ip.hasValidChecksum()).isTrue();
            assertThat(Checksums.transportValid(ip, tcp.offset(), spec.l4Length()))
                    .as("seed %#x case %d", SEED + 2, i).isFalse();
        }
    }
}
