package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Ipv4HeaderTest {
    private static final long SEED = 0x1b4_4001L;
    private static final int AT = 53;

    @Test
    void shouldReadBackWhatSetWrote() {
        ByteBuffer b = Frames.sentinelBuffer(160);
        Ipv4Header ip = new Ipv4Header().wrap(b, AT);

        ip.set(1500, 0xbeef, 255, Ipv4Header.PROTOCOL_UDP, 0xc0a8_0001, 0xffff_ffff);

        assertThat(ip.version()).isEqualTo(4);
        assertThat(ip.headerLength()).isEqualTo(20);
        assertThat(b.get(AT + Ipv4Header.TOS_OFFSET)).isZero();
        assertThat(ip.totalLength()).isEqualTo(1500);
        assertThat(ip.identification()).isEqualTo(0xbeef);
        assertThat(ip.flagsAndFragmentOffset()).isEqualTo(Ipv4Header.FLAG_DONT_FRAGMENT);
        assertThat(ip.isFragment()).isFalse();
        assertThat(ip.ttl()).isEqualTo(255);
        assertThat(ip.protocol()).isEqualTo(Ipv4Header.PROTOCOL_UDP);
        assertThat(ip.source()).isEqualTo(0xc0a8_0001);
        assertThat(ip.destination()).isEqualTo(0xffff_ffff);
        assertThat(ip.hasValidChecksum()).isTrue();
        assertThat(Frames.ipv4ChecksumValid(b, AT)).isTrue();
        assertThat(Frames.firstTouchedOutside(b, AT, AT + Ipv4Header.MIN_LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldWriteTheSameBytesAsAHandBuiltHeader() {
        Frames.Builder spec = Frames.udp().ttl(3).identification(0xfffe);
        byte[] frame = spec.build();
        ByteBuffer b = ByteBuffer.allocate(Ipv4Header.MIN_LENGTH);

        Ipv4Header ip = new Ipv4Header().wrap(b, 0);
        ip.set(spec.ipTotalLength(), spec.identification, spec.ttl, spec.protocol(),
                spec.source, spec.destination);

        assertThat(b.array()).containsExactly(Arrays.copyOfRange(frame, Frames.L3_OFFSET, spec.l4Offset()));
    }

    @Test
    void shouldReadAHandBuiltHeaderWithOptions() {
        Frames.Builder spec = Frames.tcp().ipOptionWords(3).tos(0xb8).ttl(7).identification(0x8001)
                .flagsAndFragment(0).source(0xfe00_0001).destination(0x0000_00ff);
        ByteBuffer b = spec.buildAt(AT);
        Ipv4Header ip = new Ipv4Header().wrap(b, AT + Frames.L3_OFFSET);

        assertThat(ip.version()).isEqualTo(4);
        assertThat(ip.headerLength()).isEqualTo(32);
        assertThat(ip.totalLength()).isEqualTo(spec.ipTotalLength());
        assertThat(ip.identification()).isEqualTo(0x8001);
        assertThat(ip.flagsAndFragmentOffset()).isZero();
        assertThat(ip.ttl()).isEqualTo(7);
        assertThat(ip.protocol()).isEqualTo(Ipv4Header.PROTOCOL_TCP);
        assertThat(ip.source()).isEqualTo(0xfe00_0001);
        assertThat(ip.destination()).isEqualTo(0x0000_00ff);
        assertThat(ip.hasValidChecksum()).as("the checksum covers the options").isTrue();

        b.put(AT + Frames.L3_OFFSET + 31, (byte) 0x44);
        assertThat(ip.hasValidChecksum()).isFalse();
        ip.fillChecksum();
        assertThat(ip.hasValidChecksum()).isTrue();
        assertThat(Frames.ipv4ChecksumValid(b, AT + Frames.L3_OFFSET)).isTrue();
    }

    @ParameterizedTest
    @CsvSource({
        "0x0000, false", "0x4000, false", "0x8000, false", "0x2000, true", "0x6000, true",
        "0x0001, true", "0x1fff, true", "0x4001, true", "0x3fff, true",
    })
    void shouldTellFragmentsByMoreFragmentsOrOffset(String flagsAndOffset, boolean fragment) {
        ByteBuffer b = ByteBuffer.allocate(20);
        Ipv4Header ip = new Ipv4Header().wrap(b, 0);
        ip.set(20, 1, 64, Ipv4Header.PROTOCOL_TCP, 1, 2);
        b.putShort(Ipv4Header.FLAGS_FRAGMENT_OFFSET, (short) Integer.decode(flagsAndOffset).intValue());

        assertThat(ip.isFragment()).isEqualTo(fragment);
    }

    @Test
    void shouldKeepTheHeaderChecksumValidAcrossAddressRewrites() {
        SplittableRandom random = new SplittableRandom(SEED);
        Ipv4Header ip = new Ipv4Header();
        for (int i = 0; i < 50_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.values()[random.nextInt(4)]);
            int at = random.nextInt(32);
            ByteBuffer b = spec.buildAt(at);
            ip.wrap(b, at + Frames.L3_OFFSET);
            String why = "seed %#x case %d".formatted(SEED, i);

            int source = random.nextInt();
            int destination = random.nextInt();
            if (random.nextBoolean()) {
                ip.rewriteSource(source);
            } else {
                ip.rewriteDestination(destination);
            }
            if (random.nextBoolean()) {
                ip.rewriteSource(source).rewriteDestination(destination);
                assertThat(ip.source()).isEqualTo(source);
                assertThat(ip.destination()).isEqualTo(destination);
            }

            assertThat(ip.hasValidChecksum()).as(why).isTrue();
            assertThat(Frames.ipv4ChecksumValid(b, ip.offset())).as(why).isTrue();
            int incremental = ip.checksum();
            ip.fillChecksum();
            assertThat(incremental).as(why).isEqualTo(ip.checksum());
        }
    }
}
