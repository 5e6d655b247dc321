package io.hyperplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Seeded randomized tests: {@link FrameDecoder} never throws, always answers, never writes, and
 * gives exactly the verdict of {@link #reference}, a from-the-RFCs classifier over a byte array.
 * Every buffer ends exactly at the frame's end, so any read past the frame throws.
 * <p>
 * Reproduce a failure with the seed in its message: {@code -Dpacket.seed=<seed>}.
 */
class FrameDecoderRobustnessTest {
    private static final long SEED = Long.getLong("packet.seed", 0x5eed_f00d_2025L);
    private static final int MUTATED_FRAMES = 2_000_000;
    private static final int GARBAGE_BUFFERS = 1_000_000;
    private static final int PLAUSIBLE_BUFFERS = 1_000_000;
    private static final int POOL = 4096;
    private static final int MAX_OFFSET = 64;
    private static final int MAX_GARBAGE = 2048;
    private static final int MAX_EXTENSION = 64;
    private static final int IP = Frames.L3_OFFSET;

    private final FrameDecoder decoder = new FrameDecoder();
    private final byte[] work = new byte[MAX_OFFSET + MAX_GARBAGE + 3 * MAX_EXTENSION + 8];
    private final ByteBuffer buffer = ByteBuffer.wrap(work);
    private final byte[] before = new byte[work.length];
    private final Map<Malformation, Integer> outcomes = new EnumMap<>(Malformation.class);

    @Test
    void shouldNeverThrowOnMutatedFramesOfEveryKind() {
        long seed = SEED;
        SplittableRandom random = new SplittableRandom(seed);
        byte[][] pool = new byte[POOL][];
        Frames.Kind[] kinds = Frames.Kind.values();
        for (int i = 0; i < POOL; i++) {
            pool[i] = Frames.random(random, kinds[i % kinds.length]).build();
            System.arraycopy(pool[i], 0, work, 0, pool[i].length);
            check(0, pool[i].length, seed, -i - 1);
            assertThat(decoder.decode(buffer, 0, pool[i].length)).as("seed %#x pool frame %d", seed, i).isEqualTo(Malformation.NONE);
        }
        outcomes.clear();

        for (int i = 0; i < MUTATED_FRAMES; i++) {
            byte[] frame = pool[random.nextInt(POOL)];
            int offset = random.nextInt(MAX_OFFSET);
            System.arraycopy(frame, 0, work, offset, frame.length);
            int length = frame.length;
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                length = mutate(random, offset, length);
            }
            if (random.nextBoolean()) {
                repairIpv4Checksum(offset, length); // else almost every header mutation stops at the checksum
            }
            check(offset, length, seed, i);
        }

        System.out.printf("FrameDecoderRobustnessTest: %d mutated frames, seed %#x, outcomes %s%n", MUTATED_FRAMES, seed, outcomes);
        assertThat(outcomes.keySet()).as("the mutations reach every verdict").containsExactlyInAnyOrder(Malformation.values());
    }

    @Test
    void shouldNeverThrowOnRandomGarbage() {
        long seed = SEED + 1;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < GARBAGE_BUFFERS; i++) {
            int offset = random.nextInt(MAX_OFFSET);
            int length = random.nextInt(MAX_GARBAGE + 1);
            fillRandom(random, offset, length);
            check(offset, length, seed, i);
        }
        System.out.printf("FrameDecoderRobustnessTest: %d garbage buffers, seed %#x, outcomes %s%n", GARBAGE_BUFFERS, seed, outcomes);
    }

    /** Garbage behind a VXLAN I flag, an IPv4 or ARP EtherType and often a checksummed IPv4 header, to get past the first checks. */
    @Test
    void shouldNeverThrowOnGarbageBehindPlausibleHeaders() {
        long seed = SEED + 2;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < PLAUSIBLE_BUFFERS; i++) {
            int offset = random.nextInt(MAX_OFFSET);
            int length = random.nextInt(256);
            fillRandom(random, offset, length);
            if (length >= IP) {
                work[offset] |= VxlanHeader.FLAG_I;
                boolean arp = random.nextInt(8) == 0;
                Frames.putU16(work, offset + Frames.ETHER_TYPE_OFFSET, arp ? EthernetHeader.TYPE_ARP : EthernetHeader.TYPE_IPV4);
                if (arp && length >= IP + 6 && random.nextBoolean()) {
                    System.arraycopy(new byte[] {0, 1, 8, 0, 6, 4}, 0, work, offset + IP, 6);
                }
                if (!arp && length >= IP + 20) {
                    work[offset + IP] = (byte) (0x40 | (random.nextInt(4) == 0 ? random.nextInt(16) : 5 + random.nextInt(3)));
                    int ipRoom = length - IP;
                    Frames.putU16(work, offset + IP + 2, random.nextInt(4) == 0 ? random.nextInt(0x1_0000) : random.nextInt(ipRoom + 1));
                    Frames.putU16(work, offset + IP + 6, random.nextInt(4) == 0 ? random.nextInt(0x1_0000) : 0);
                    work[offset + IP + 9] = (byte) new int[] {1, 6, 17, random.nextInt(256)}[random.nextInt(4)];
                    repairIpv4Checksum(offset, length);
                }
            }
            check(offset, length, seed, i);
        }
        System.out.printf("FrameDecoderRobustnessTest: %d plausible garbage buffers, seed %#x, outcomes %s%n",
                PLAUSIBLE_BUFFERS, seed, outcomes);
        assertThat(outcomes).containsKeys(Malformation.NONE, Malformation.BAD_TCP_OFFSET, Malformation.BAD_UDP_LENGTH,
                Malformation.BAD_EMBEDDED);
    }

    private void fillRandom(SplittableRandom random, int offset, int length) {
        for (int i = 0; i < length; i += 8) {
            buffer.putLong(offset + i, random.nextLong());
        }
    }

    // ---- the check ----

    private void check(int offset, int length, long seed, int iteration) {
        buffer.limit(offset + length);
        System.arraycopy(work, offset, before, 0, length);
        Malformation result;
        Malformation embedded = null;
        try {
            result = decoder.decode(buffer, offset, length);
            if (result == Malformation.NONE && decoder.protocol() == Ipv4Header.PROTOCOL_ICMP && decoder.icmp.isError()) {
                embedded = decoder.decodeIcmpError();
            }
        } catch (RuntimeException e) {
            throw new AssertionError(context("threw " + e, offset, length, seed, iteration), e);
        } finally {
            buffer.limit(buffer.capacity());
        }
        require(result != null, "no verdict", offset, length, seed, iteration);
        require(Arrays.equals(work, offset, offset + length, before, 0, length), "decode wrote to the frame", offset, length, seed, iteration);
        Malformation expected = reference(work, offset, length);
        if (result != expected) {
            require(false, "decoded " + result + ", reference says " + expected, offset, length, seed, iteration);
        }
        outcomes.merge(result, 1, Integer::sum);
        if (result == Malformation.NONE) {
            checkAccepted(offset, length, seed, iteration);
        }
        if (embedded != null) {
            Malformation expectedEmbedded = referenceIcmpError(work, decoder.l4Offset(), decoder.l4Length());
            if (embedded != expectedEmbedded) {
                require(false, "decodeIcmpError " + embedded + ", reference says " + expectedEmbedded, offset, length, seed, iteration);
            }
            outcomes.merge(embedded, 1, Integer::sum);
            if (embedded == Malformation.NONE) {
                Ipv4Header inner = decoder.embeddedIp;
                require(inner.offset() == decoder.l4Offset() + IcmpHeader.EMBEDDED_OFFSET && inner.version() == 4
                        && inner.headerLength() >= Ipv4Header.MIN_LENGTH
                        && decoder.embeddedL4Offset() == inner.offset() + inner.headerLength()
                        && decoder.embeddedL4Offset() + 8 <= decoder.l4Offset() + decoder.l4Length(),
                        "embedded invariants", offset, length, seed, iteration);
            }
        }
    }

    /** What a NONE promises the forwarding loop. */
    private void checkAccepted(int offset, int length, long seed, int iteration) {
        int end = offset + length;
        require(decoder.offset() == offset && decoder.vxlan.offset() == offset && decoder.vxlan.hasValidVni()
                && decoder.ethernet.offset() == offset + FrameDecoder.ETHERNET_OFFSET, "tunnel invariants", offset, length, seed, iteration);
        if (decoder.etherType() == EthernetHeader.TYPE_ARP) {
            ArpPacket arp = decoder.arp;
            require(arp.offset() == offset + IP && arp.offset() + ArpPacket.LENGTH <= end && arp.hardwareType() == 1
                    && arp.protocolType() == EthernetHeader.TYPE_IPV4 && arp.hardwareLength() == 6 && arp.protocolLength() == 4
                    && decoder.protocol() == 0, "ARP invariants", offset, length, seed, iteration);
            return;
        }
        Ipv4Header ip = decoder.ip;
        int l4 = decoder.l4Offset();
        int l4Length = decoder.l4Length();
        require(decoder.etherType() == EthernetHeader.TYPE_IPV4 && ip.offset() == offset + IP && ip.version() == 4
                && ip.headerLength() >= Ipv4Header.MIN_LENGTH && l4 == ip.offset() + ip.headerLength()
                && l4Length == ip.totalLength() - ip.headerLength() && l4Length >= 0 && l4 + l4Length <= end
                && ip.hasValidChecksum() && Frames.ipv4ChecksumValid(buffer, ip.offset()) && !ip.isFragment()
                && decoder.protocol() == ip.protocol(), "IPv4 invariants", offset, length, seed, iteration);
        switch (decoder.protocol()) {
            case Ipv4Header.PROTOCOL_TCP -> require(decoder.tcp.offset() == l4 && l4Length >= TcpHeader.MIN_LENGTH
                    && decoder.tcp.headerLength() >= TcpHeader.MIN_LENGTH && decoder.tcp.headerLength() <= l4Length,
                    "TCP invariants", offset, length, seed, iteration);
            case Ipv4Header.PROTOCOL_UDP -> require(decoder.udp.offset() == l4 && decoder.udp.length() >= UdpHeader.LENGTH
                    && decoder.udp.length() <= l4Length, "UDP invariants", offset, length, seed, iteration);
            case Ipv4Header.PROTOCOL_ICMP -> require(decoder.icmp.offset() == l4 && l4Length >= IcmpHeader.LENGTH,
                    "ICMP invariants", offset, length, seed, iteration);
            default -> {
            }
        }
    }

    private void require(boolean ok, String what, int offset, int length, long seed, int iteration) {
        if (!ok) {
            throw new AssertionError(context(what, offset, length, seed, iteration));
        }
    }

    private String context(String what, int offset, int length, long seed, int iteration) {
        return "%s: seed %#x iteration %d, %d bytes at offset %d: %s".formatted(what, seed, iteration, length, offset,
                HexFormat.of().formatHex(work, offset, offset + length));
    }

    // ---- mutations ----

    private int mutate(SplittableRandom random, int offset, int length) {
        switch (random.nextInt(10)) {
            case 0 -> {
                if (length > 0) {
                    work[offset + random.nextInt(length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> {
                if (length > 0) {
                    work[offset + random.nextInt(length)] = (byte) random.nextInt(256);
                }
            }
            case 2 -> length = random.nextInt(length + 1);
            case 3 -> {
                int extra = 1 + random.nextInt(MAX_EXTENSION);
                for (int i = 0; i < extra; i++) {
                    work[offset + length + i] = (byte) random.nextInt(256);
                }
                length += extra;
            }
            case 4, 5, 6 -> randomizeLengthField(random, offset, length);
            case 7 -> putU16(offset, length, IP + Ipv4Header.FLAGS_FRAGMENT_OFFSET,
                    pick(random, Ipv4Header.FLAG_MORE_FRAGMENTS, 1 + random.nextInt(0x1fff), 0, 0x8000, random.nextInt(0x1_0000)));
            case 8 -> putU16(offset, length, Frames.ETHER_TYPE_OFFSET, pick(random, EthernetHeader.TYPE_IPV4, EthernetHeader.TYPE_ARP,
                    EthernetHeader.TYPE_IPV6, EthernetHeader.TYPE_VLAN, random.nextInt(0x1_0000)));
            default -> {
                if (length > 0) {
                    work[offset] = (byte) (random.nextBoolean() ? random.nextInt(256) : work[offset] ^ VxlanHeader.FLAG_I);
                }
                putU8(offset, length, IP + Ipv4Header.PROTOCOL_OFFSET, pick(random, 1, 6, 17, random.nextInt(256)));
            }
        }
        return length;
    }

    /** Sets one of the length fields a parser trusts, read from where the current bytes say it is. */
    private void randomizeLengthField(SplittableRandom random, int offset, int length) {
        int ip = offset + IP;
        int ihl = length > IP ? (work[ip] & 0x0f) * 4 : Ipv4Header.MIN_LENGTH;
        int l4 = ip + ihl - offset;
        int ipPayload = length - IP - ihl;
        switch (random.nextInt(7)) {
            case 0 -> putU8(offset, length, IP, pick(random, 0x40 | random.nextInt(16), random.nextInt(256), 0x45));
            case 1 -> putU16(offset, length, IP + Ipv4Header.TOTAL_LENGTH_OFFSET, pick(random, random.nextInt(0x1_0000),
                    length - IP + random.nextInt(9) - 4, ihl + random.nextInt(24), ihl, length - IP));
            case 2 -> putU8(offset, length, l4 + TcpHeader.DATA_OFFSET_OFFSET, random.nextInt(16) << 4);
            case 3 -> putU16(offset, length, l4 + UdpHeader.LENGTH_OFFSET, pick(random, random.nextInt(0x1_0000),
                    random.nextInt(9), ipPayload + random.nextInt(5) - 2));
            case 4 -> putU8(offset, length, l4, pick(random, IcmpHeader.DESTINATION_UNREACHABLE, IcmpHeader.TIME_EXCEEDED,
                    IcmpHeader.PARAMETER_PROBLEM, IcmpHeader.ECHO_REQUEST));
            case 5 -> putU8(offset, length, l4 + IcmpHeader.EMBEDDED_OFFSET, pick(random, 0x40 | random.nextInt(16), random.nextInt(256)));
            default -> putU8(offset, length, IP + random.nextInt(6), pick(random, 0, 1, 4, 6, 8, random.nextInt(256)));
        }
    }

    private void putU8(int offset, int length, int at, int value) {
        if (at >= 0 && at < length) {
            work[offset + at] = (byte) value;
        }
    }

    private void putU16(int offset, int length, int at, int value) {
        if (at >= 0 && at + 1 < length) {
            Frames.putU16(work, offset + at, value);
        }
    }

    private static int pick(SplittableRandom random, int... values) {
        return values[random.nextInt(values.length)];
    }

    private void repairIpv4Checksum(int offset, int length) {
        int ihl = length > IP ? (work[offset + IP] & 0x0f) * 4 : 0;
        if (ihl >= Ipv4Header.MIN_LENGTH && IP + ihl <= length
                && Frames.u16(work, offset + Frames.ETHER_TYPE_OFFSET) == EthernetHeader.TYPE_IPV4) {
            Frames.refillIpv4Checksum(buffer, offset + IP);
        }
    }

    // ---- the reference ----

    /** The decoder's contract, written from RFC 7348, 826, 791, 9293, 768 and 792 in the order the checks are documented. */
    static Malformation reference(byte[] b, int offset, int length) {
        if (length < 22) {
            return Malformation.TRUNCATED_VXLAN;
        }
        if ((b[offset] & 0x08) == 0) {
            return Malformation.VXLAN_FLAGS;
        }
        int etherType = Frames.u16(b, offset + 20);
        int l3 = offset + 22;
        int available = length - 22;
        if (etherType == 0x0806) {
            if (available < 28) {
                return Malformation.TRUNCATED_ARP;
            }
            boolean ipv4OverEthernet = Frames.u16(b, l3) == 1 && Frames.u16(b, l3 + 2) == 0x0800 && b[l3 + 4] == 6 && b[l3 + 5] == 4;
            return ipv4OverEthernet ? Malformation.NONE : Malformation.BAD_ARP;
        }
        if (etherType != 0x0800) {
            return etherType == 0x86dd ? Malformation.IPV6 : Malformation.UNSUPPORTED_ETHERTYPE;
        }
        if (available < 20) {
            return Malformation.TRUNCATED_IPV4;
        }
        if ((b[l3] & 0xf0) != 0x40) {
            return Malformation.BAD_IP_VERSION;
        }
        int ihl = (b[l3] & 0x0f) * 4;
        if (ihl < 20) {
            return Malformation.BAD_IHL;
        }
        if (ihl > available) {
            return Malformation.TRUNCATED_IPV4;
        }
        int total = Frames.u16(b, l3 + 2);
        if (total < ihl || total > available) {
            return Malformation.BAD_TOTAL_LENGTH;
        }
        if (Frames.referenceSum(b, l3, ihl, 0) != 0xffff) {
            return Malformation.BAD_IP_CHECKSUM;
        }
        if ((Frames.u16(b, l3 + 6) & 0x3fff) != 0) {
            return Malformation.FRAGMENT;
        }
        int l4 = l3 + ihl;
        int l4Length = total - ihl;
        return switch (b[l3 + 9]) {
            case 6 -> l4Length < 20 ? Malformation.TRUNCATED_L4
                    : (b[l4 + 12] & 0xf0) >>> 2 < 20 || (b[l4 + 12] & 0xf0) >>> 2 > l4Length ? Malformation.BAD_TCP_OFFSET
                    : Malformation.NONE;
            case 17 -> l4Length < 8 ? Malformation.TRUNCATED_L4
                    : Frames.u16(b, l4 + 4) < 8 || Frames.u16(b, l4 + 4) > l4Length ? Malformation.BAD_UDP_LENGTH
                    : Malformation.NONE;
            case 1 -> l4Length < 8 ? Malformation.TRUNCATED_L4 : Malformation.NONE;
            default -> Malformation.NONE;
        };
    }

    /** RFC 792: an error quotes the offending IPv4 header and at least 8 bytes of what followed it. */
    static Malformation referenceIcmpError(byte[] b, int l4, int l4Length) {
        int at = l4 + 8;
        int quoted = l4Length - 8;
        if (quoted < 28 || (b[at] & 0xf0) != 0x40) {
            return Malformation.BAD_EMBEDDED;
        }
        int ihl = (b[at] & 0x0f) * 4;
        return ihl < 20 || ihl + 8 > quoted ? Malformation.BAD_EMBEDDED : Malformation.NONE;
    }
}
