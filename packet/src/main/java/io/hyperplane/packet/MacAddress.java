package io.hyperplane.packet;

/** 48-bit MAC addresses held in the low bits of a {@code long}. */
public final class MacAddress {
    public static final long BROADCAST = 0xffff_ffff_ffffL;

    private MacAddress() {
    }

    public static long parse(String text) {
        if (text == null || text.length() != 17) {
            throw new IllegalArgumentException("MAC address '" + text + "': expected six colon-separated hex octets");
        }
        long value = 0;
        for (int i = 0; i < 6; i++) {
            int at = i * 3;
            if (i > 0 && text.charAt(at - 1) != ':') {
                throw new IllegalArgumentException("MAC address '" + text + "': expected ':' between octets");
            }
            int hi = Character.digit(text.charAt(at), 16);
            int lo = Character.digit(text.charAt(at + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("MAC address '" + text + "': not hexadecimal");
            }
            value = (value << 8) | (hi << 4) | lo;
        }
        return value;
    }

    public static String format(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            int octet = (int) (mac >>> shift) & 0xff;
            if (sb.length() > 0) {
                sb.append(':');
            }
            sb.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 0xf, 16));
        }
        return sb.toString();
    }

    /** True for group (multicast and broadcast) addresses: the I/G bit of the first octet. */
    public static boolean isMulticast(long mac) {
        return ((mac >>> 40) & 1) != 0;
    }
}
