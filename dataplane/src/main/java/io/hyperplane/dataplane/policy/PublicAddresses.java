package io.hyperplane.dataplane.policy;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.List;

/**
 * {@link Internet#isPublic} for the hot path: the service egress forwards only to public
 * addresses (DESIGN.md §11). A table by first octet answers most addresses in one load: a whole
 * octet that is not public (0, 10, 127, 224-255), an octet with nothing excluded, or one where a
 * narrower range must be checked (100.64/10, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
 * 198.18/15), which takes a few comparisons.
 */
public final class PublicAddresses {
    private static final byte PUBLIC = 0;
    private static final byte NOT_PUBLIC = 1;
    private static final byte CHECK = 2;
    private static final byte[] BY_FIRST_OCTET = new byte[256];
    private static final int[] NETWORK;
    private static final int[] MASK;

    static {
        List<Ipv4Cidr> ranges = Internet.NOT_PUBLIC;
        List<Ipv4Cidr> narrow = ranges.stream().filter(r -> r.prefixLength() > 8).toList();
        for (int octet = 0; octet < 256; octet++) {
            int address = octet << 24;
            int first = octet;
            if (ranges.stream().anyMatch(r -> r.prefixLength() <= 8 && r.contains(address))) {
                BY_FIRST_OCTET[octet] = NOT_PUBLIC;
            } else if (narrow.stream().anyMatch(r -> r.network() >>> 24 == first)) {
                BY_FIRST_OCTET[octet] = CHECK;
            }
        }
        NETWORK = narrow.stream().mapToInt(Ipv4Cidr::network).toArray();
        MASK = narrow.stream().mapToInt(Ipv4Cidr::mask).toArray();
    }

    private PublicAddresses() {
    }

    /** The same answer as {@link Internet#isPublic}, without allocating. */
    public static boolean isPublic(int address) {
        byte kind = BY_FIRST_OCTET[address >>> 24];
        if (kind != CHECK) {
            return kind == PUBLIC;
        }
        for (int i = 0; i < NETWORK.length; i++) {
            if ((address & MASK[i]) == NETWORK[i]) {
                return false;
            }
        }
        return true;
    }
}
