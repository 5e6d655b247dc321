package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ChecksumsTest {
    private static final long SEED = 0xc5_0001L;
    private static final int INCREMENTAL_CASES = 200_000;

    private static ByteBuffer bytes(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length);
        for (int i = 0; i < values.length; i++) {
            b.put(i, (byte) values[i]);
        }
        return b;
    }

    @Test
    void shouldMatchTheRfc1071Example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, so the checksum is 220d.
        ByteBuffer b = bytes(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);

        assertThat(Checksums.sum(b, 0, 8, 0)).isEqualTo(0xddf2);
        assertThat(Checksums.finish(Checksums.sum(b, 0, 8, 0))).isEqualTo(0x220d);
        assertThat(Frames.referenceSum(b, 0, 8, 0)).as("the reference agrees with the RFC too").isEqualTo(0xddf2);
    }

    @Test
    void shouldMatchAKnownIpv4Header() {
        // A widely quoted sample header whose checksum is b861.
        ByteBuffer header = bytes(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
                0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7);

        assertThat(Checksums.finish(Checksums.sum(header, 0, 20, 0))).isEqualTo(0xb861);
    }

    @Test
    void shouldPadAnOddTrailingByteWithZero() {
        assertThat(Checksums.sum(bytes(0x01), 0, 1, 0)).isEqualTo(0x0100);
        assertThat(Checksums.sum(bytes(0x12, 0x34, 0x56), 0, 3, 0)).isEqualTo(0x1234 + 0x5600);
        assertThat(Checksums.sum(bytes(0x00, 0x01, 0xf2, 0x03, 0xf4), 0, 5, 0)).isEqualTo(0x0001 + 0xf203 + 0xf400 - 0xffff);
        assertThat(Checksums.sum(bytes(0xab), 0, 0, 0)).isZero();
    }

    @Test
    void shouldAddAndFoldTheInitialValue() {
        ByteBuffer b = bytes(0xff, 0xff);

        assertThat(Checksums.sum(b, 0, 2, 1)).isEqualTo(1);
        assertThat(Checksums.sum(b, 0, 0, 0x1_fffe)).isEqualTo(0xffff);
        assertThat(Checksums.sum(b, 0, 2, -1)).isEqualTo(Frames.referenceSum(b, 0, 2, 0xffff_ffffL));
    }

    @Test
    void shouldAgreeWithTheReferenceAtEveryLengthAndAlignment() {
        SplittableRandom random = new SplittableRandom(SEED);
        ByteBuffer b = ByteBuffer.allocate(2100);
        for (int i = 0; i < 20_000; i++) {
            byte[] fill = new byte[b.capacity()];
            random.nextBytes(fill);
            if (random.nextInt(8) == 0) {
                Arrays.fill(fill, (byte) 0xff); // worst case for carries
            }
            b.put(0, fill);
            int offset = random.nextInt(16);
            int length = i < 2048 ? i : random.nextInt(2048);
            int initial = random.nextInt(4) == 0 ? 0 : random.nextInt(0x4_0000);
            assertThat(Checksums.sum(b, offset, length, initial))
                    .as("seed %#x case %d offset %d length %d", SEED, i, offset, length)
                    .isEqualTo(Frames.referenceSum(b, offset, length, initial));
        }
    }

    @Test
    void shouldFoldAndComplementInFinish() {
        assertThat(Checksums.finish(0)).isEqualTo(0xffff);
        assertThat(Checksums.finish(0xffff)).isZero();
        assertThat(Checksums.finish(0x1_0000)).isEqualTo(0xfffe);
        assertThat(Checksums.finish(0x2_ddf0)).isEqualTo(0x220d);
        assertThat(Checksums.finish(-1)).isZero();
    }

    @Test
    void shouldUpdateIncrementallyExactlyAsAFullRecomputation() {
        SplittableRandom random = new SplittableRandom(SEED);
        ByteBuffer header = ByteBuffer.allocate(60);
        for (int i = 0; i < INCREMENTAL_CASES; i++) {
            int length = 20 + 4 * random.nextInt(11);
            byte[] fill = new byte[length];
            random.nextBytes(fill);
            header.put(0, fill);
            header.putShort(10, (short) 0);
            int checksum = Frames.referenceChecksum(header, 0, length, 0);
            header.putShort(10, (short) checksum);

            int updated;
            if (random.nextBoolean()) {
                int at = 2 * random.nextInt(length / 2);
                if (at == 10) {
                    continue;
                }
                int old = header.getShort(at) & 0xffff;
                int value = random.nextInt(4) == 0 ? pick(random, 0, 0xffff, old ^ 0xffff) : random.nextInt(0x1_0000);
                header.putShort(at, (short) value);
                updated = Checksums.update16(checksum, old, value);
            } else {
                int at = 12 + 2 * random.nextInt((length - 12) / 2 - 1);
                int old = header.getInt(at);
                int value = random.nextInt(4) == 0 ? pick(random, 0, -1, ~old) : random.nextInt();
                header.putInt(at, value);
                updated = Checksums.update32(checksum, old, value);
            }
            header.putShort(10, (short) 0);
            assertThat(updated).as("seed %#x case %d", SEED, i).isEqualTo(Frames.referenceChecksum(header, 0, length, 0));
        }
        System.out.printf("ChecksumsTest: %d incremental updates agreed with full recomputation, seed %#x%n",
                INCREMENTAL_CASES, SEED);
    }

    private static int pick(SplittableRandom random, int... values) {
        return values[random.nextInt(values.length)];
    }

    @Test
    void shouldKeepAWrongChecksumWrongByTheSameAmount() {
        SplittableRandom random = new SplittableRandom(SEED + 1);
        ByteBuffer header = ByteBuffer.allocate(20);
        for (int i = 0; i < 50_000; i++) {
            byte[] fill = new byte[20];
            random.nextBytes(fill);
            header.put(0, fill);
            header.putShort(10, (short) 0);
            int good = Frames.referenceChecksum(header, 0, 20, 0);
            int error = 1 + random.nextInt(0xfffe); // never 0 or 0xffff: those are no error in one's complement
            int bad = onesAdd(good, error);
            header.putShort(10, (short) bad);
            int before = Frames.referenceSum(header, 0, 20, 0);

            int old = header.getInt(12);
            int value = random.nextInt();
            header.putInt(12, value);
            header.putShort(10, (short) Checksums.update32(bad, old, value));

            assertThat(Frames.referenceSum(header, 0, 20, 0)).as("seed %#x case %d", SEED + 1, i)
                    .isNotEqualTo(0xffff).isEqualTo(before);
        }
    }

    private static int onesAdd(int a, int b) {
        int s = a + b;
        return (s & 0xffff) + (s >>> 16);
    }

    @Test
    void shouldHandleTheOnesComplementEdgesOfUpdate() {
        assertThat(Checksums.update16(0x1234, 0xabcd, 0xabcd)).isEqualTo(0x1234);
        assertThat(Checksums.update32(0x1234, 0xdead_beef, 0xdead_beef)).isEqualTo(0x1234);
        assertThat(Checksums.update16(0x0000, 0x0000, 0xffff)).as("0 and 0xffff are the same number").isZero();
        assertThat(Checksums.update16(0xffff, 0x0001, 0x0002)).isEqualTo(0xfffe);
    }

    @Test
    void shouldComputeAndVerifyTransportChecksumsWithThePseudoHeader() {
        SplittableRandom random = new SplittableRandom(SEED + 2);
        Ipv4Header ip = new Ipv4Header();
        for (int i = 0; i < 5_000; i++) {
            Frames.Builder spec = Frames.random(random, random.nextBoolean() ? Frames.Kind.TCP : Frames.Kind.UDP)
                    .udpChecksum(true);
            ByteBuffer b = spec.buildAt(random.nextInt(9));
            int at = b.capacity() - spec.length();
            ip.wrap(b, at + Frames.L3_OFFSET);
            int l4 = at + spec.l4Offset();
            String why = "seed %#x case %d".formatted(SEED + 2, i);

            assertThat(ip.pseudoHeaderSum(spec.l4Length()) % 0xffff).as(why)
                    .isEqualTo(Frames.referencePseudoHeaderSum(ip.source(), ip.destination(), ip.protocol(), spec.l4Length()) % 0xffff);
            assertThat(Checksums.transportValid(ip, l4, spec.l4Length())).as(why).isTrue();

            int field = l4 + (spec.kind == Frames.Kind.TCP ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
            int stored = b.getShort(field) & 0xffff;
            b.putShort(field, (short) 0);
            int computed = Checksums.transport(ip, l4, spec.l4Length());
            assertThat(computed == 0 && spec.kind == Frames.Kind.UDP ? 0xffff : computed).as(why).isEqualTo(stored);

            b.put(l4 + random.nextInt(spec.l4Length()), (byte) random.nextInt(256));
            b.putShort(field, (short) stored);
            assertThat(Checksums.transportValid(ip, l4, spec.l4Length())).as(why)
                    .isEqualTo(Frames.transportChecksumValid(b, at + Frames.L3_OFFSET));
        }
    }
}
