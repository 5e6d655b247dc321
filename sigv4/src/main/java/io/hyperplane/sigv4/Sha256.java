package io.hyperplane.sigv4;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Lowercase hex SHA-256, the form SigV4 uses for payload and canonical-request hashes. */
final class Sha256 {
    /** Length of a hex SHA-256: what a real x-amz-content-sha256 value must have. */
    static final int HEX_LENGTH = 64;

    private Sha256() {
    }

    static String hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must support SHA-256", e);
        }
    }

    static boolean isHex(String value) {
        if (value.length() != HEX_LENGTH) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            if (CanonicalRequest.hexValue(value.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }
}
