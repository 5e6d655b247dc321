package io.hyperplane.control.store;

import java.security.SecureRandom;

/** EC2-style resource identifiers: a prefix and 17 lowercase hex digits ("vpc-0a1b2c3d4e5f60718"). */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final int DIGITS = 17; // EC2's long resource ids since 2018

    private Ids() {
    }

    public static String next(String prefix) {
        StringBuilder id = new StringBuilder(prefix.length() + 1 + DIGITS).append(prefix).append('-');
        for (int i = 0; i < DIGITS; i++) {
            id.append(HEX[RANDOM.nextInt(16)]);
        }
        return id.toString();
    }

    public static String random(String alphabet, int length) {
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            s.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return s.toString();
    }
}
