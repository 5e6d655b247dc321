package io.hyperplane.packet;

/**
 * IPv4 addresses as {@code int} in network order (the first octet is the most significant byte),
 * the representation every flyweight and table in the data plane uses.
 */
public final class Ipv4Address {
    private Ipv4Address() {
    }

    /** Parses dotted-quad text; throws {@link IllegalArgumentException} naming the bad input. */
    public static int parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("IPv4 address: missing");
        }
        int value = 0;
        int octets = 0;
        int current = -1;
        for (int i = 0; i <= text.length(); i++) {
            char c = i < text.length() ? text.charAt(i) : '.';
            if (c == '.') {
                if (current < 0 || octets == 4) {
                    throw new IllegalArgumentException("IPv4 address '" + text + "': expected four dot-separated octets");
                }
                value = (value << 8) | current;
                octets++;
                current = -1;
            } else if (c >= '0' && c <= '9') {
                current = current < 0 ? c - '0' : current * 10 + (c - '0');
                if (current > 255) {
                    throw new IllegalArgumentException("IPv4 address '" + text + "': octet above 255");
                }
            } else {
                throw new IllegalArgumentException("IPv4 address '" + text + "': unexpected character '" + c + "'");
            }
        }
        if (octets != 4) {
            throw new IllegalArgumentException("IPv4 address '" + text + "': expected four dot-separated octets");
        }
        return value;
    }

    public static String format(int address) {
        return ((address >>> 24) & 0xff) + "." + ((address >>> 16) & 0xff) + "." + ((address >>> 8) & 0xff) + "." + (address & 0xff);
    }

    /** Network mask for a prefix length 0..32 ({@code 0} for /0). */
    public static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }
}
