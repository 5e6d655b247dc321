package io.hyperplane.packet;

/**
 * An IPv4 prefix such as {@code 10.0.1.0/24}. The address must be the network address: host bits
 * set are rejected, as EC2 rejects them.
 */
public record Ipv4Cidr(int network, int prefixLength) {
    public Ipv4Cidr {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("cidr " + Ipv4Address.format(network) + "/" + prefixLength + ": prefix length must be 0..32");
        }
        if ((network & ~Ipv4Address.mask(prefixLength)) != 0) {
            throw new IllegalArgumentException("cidr " + Ipv4Address.format(network) + "/" + prefixLength + ": host bits are set");
        }
    }

    public static Ipv4Cidr parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("cidr: missing");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("cidr '" + text + "': expected address/prefix-length");
        }
        int prefix;
        try {
            prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cidr '" + text + "': prefix length is not a number");
        }
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("cidr '" + text + "': prefix length must be 0..32");
        }
        return new Ipv4Cidr(Ipv4Address.parse(text.substring(0, slash)), prefix);
    }

    public int mask() {
        return Ipv4Address.mask(prefixLength);
    }

    public boolean contains(int address) {
        return (address & mask()) == network;
    }

    public boolean contains(Ipv4Cidr other) {
        return other.prefixLength >= prefixLength && contains(other.network);
    }

    public boolean overlaps(Ipv4Cidr other) {
        return contains(other.network) || other.contains(network);
    }

    /** The last address of the prefix (the broadcast address for prefixes shorter than /31). */
    public int last() {
        return network | ~mask();
    }

    public long size() {
        return 1L << (32 - prefixLength);
    }

    @Override
    public String toString() {
        return Ipv4Address.format(network) + "/" + prefixLength;
    }
}
