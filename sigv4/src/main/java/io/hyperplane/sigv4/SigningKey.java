package io.hyperplane.sigv4;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The SigV4 key derivation and final HMAC (AWS IAM User Guide, "Create a signed AWS API request",
 * step 4: "Derive a signing key"): kDate = HMAC("AWS4" + secret, date), then region, service and
 * "aws4_request" in turn, each keyed by the previous result.
 */
final class SigningKey {
    private static final String HMAC_SHA256 = "HmacSHA256";

    private SigningKey() {
    }

    static byte[] derive(String secretAccessKey, CredentialScope scope) {
        byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), scope.date());
        key = hmac(key, scope.region());
        key = hmac(key, scope.service());
        return hmac(key, scope.terminator());
    }

    /** The signature as clients send it: lowercase hex. */
    static String sign(byte[] signingKey, String stringToSign) {
        return HexFormat.of().formatHex(hmac(signingKey, stringToSign));
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance(HMAC_SHA256);
            mac.init(new SecretKeySpec(key, HMAC_SHA256));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("every Java platform must support " + HMAC_SHA256 + " with any key", e);
        }
    }
}
