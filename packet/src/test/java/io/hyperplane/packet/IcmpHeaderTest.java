package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IcmpHeaderTest {
    private static final long SEED = 0x1c3_0001L;
    private static final int AT = 31;

    @Test
    void shouldReadBackWhatSetWrote() {
        ByteBuffer b = Frames.sentinelBuffer(64);
        IcmpHeader icmp = new IcmpHeader().wrap(b, AT);

        icmp.set(IcmpHeader.ECHO_REPLY, 0, 0xfedc, 0x8001);

        assertThat(icmp.type()).isEqualTo(IcmpHeader.ECHO_REPLY);
        assertThat(icmp.code()).isZero();
        assertThat(icmp.checksum()).isZero();
        assertThat(icmp.identifier()).isEqualTo(0xfedc);
        assertThat(icmp.sequence()).isEqualTo(0x8001);
        assertThat(icmp.isEcho()).isTrue();
        assertThat(icmp.isError()).isFalse();
        assertThat(Frames.firstTouchedOutside(b, AT, AT + IcmpHeader.LENGTH)).isEqualTo(-1);
    }

    @Test
    void shouldFillTheSameChecksumAsAHandBuiltMessageOfOddLength() {
        Frames.Builder spec = Frames.icmpEcho().payload(new byte[] {1, 2, 3, 4, 5, 6, 7});
        ByteBuffer b = spec.buildAt(AT);
        IcmpHeader icmp = new IcmpHeader().wrap(b, AT + spec.l4Offset());
        int handBuilt = icmp.checksum();

        icmp.set(spec.icmpType, spec.icmpCode, spec.icmpIdentifier, spec.icmpSequence).fillChecksum(spec.l4Length());

        assertThat(icmp.checksum()).isEqualTo(handBuilt);
        assertThat(Frames.referenceSum(b, icmp.offset(), spec.l4Length(), 0)).isEqualTo(0xffff);
    }

    @Test
    void shouldKeepTheChecksumValidAcrossIdentifierRewrites() {
        SplittableRandom random = new SplittableRandom(SEED);
        IcmpHeader icmp = new IcmpHeader();
        for (int i = 0; i < 20_000; i++) {
            Frames.Builder spec = Frames.random(random, Frames.Kind.ICMP_ECHO);
            int at = random.nextInt(32);
            ByteBuffer b = spec.buildAt(at);
            icmp.wrap(b, at + spec.l4Offset());
            String why = "seed %#x case %d".formatted(SEED, i);

            int identifier = random.nextInt(0x1_0000);
            icmp.rewriteIdentifier(identifier);

            assertThat(icmp.identifier()).isEqualTo(identifier);
            assertThat(Frames.referenceSum(b, icmp.offset(), spec.l4Length(), 0)).as(why).isEqualTo(0xffff);
            int incremental = icmp.checksum();
            icmp.fillChecksum(spec.l4Length());
            assertThat(incremental).as(why).isEqualTo(icmp.checksum());
        }
    }

    @Test
    void shouldClassifyEchoAndErrorTypes() {
        ByteBuffer b = ByteBuffer.allocate(8);
        IcmpHeader icmp = new IcmpHeader().wrap(b, 0);
        for (int type = 0; type < 256; type++) {
            icmp.set(type, 0, 0, 0);
            assertThat(icmp.type()).isEqualTo(type);
            assertThat(icmp.isEcho()).as("type %d", type).isEqualTo(type == 0 || type == 8);
            assertThat(icmp.isError()).as("type %d", type).isEqualTo(type == 3 || type == 11 || type == 12);
        }
    }
}
