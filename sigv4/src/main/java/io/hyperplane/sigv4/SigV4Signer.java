package io.hyperplane.sigv4;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Signs a request with Signature Version 4 (AWS4-HMAC-SHA256), for the project's own clients
 * ({@code hyperplane describe}, the API benchmark). The mirror of {@link SigV4Verifier}, built from
 * the same canonicalisation, so what one signs the other accepts.
 */
public final class SigV4Signer {
    private static final DateTimeFormatter BASIC = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private SigV4Signer() {
    }

    /**
     * The headers to add to the request: x-amz-date, x-amz-content-sha256 and Authorization.
     * {@code headers} are the request's other headers, Host among them; all of them are signed.
     */
    public static Map<String, String> sign(String method, String rawPath, String rawQuery, Map<String, String> headers,
                                           byte[] body, Credential credential, String region, String service, Instant now) {
        String time = BASIC.format(now);
        String payloadHash = Sha256.hex(body);
        TreeMap<String, String> signed = new TreeMap<>();
        headers.forEach((name, value) -> signed.put(name.toLowerCase(Locale.ROOT), value));
        signed.put("x-amz-date", time);
        signed.put("x-amz-content-sha256", payloadHash);
        StringBuilder canonicalHeaders = new StringBuilder();
        signed.forEach((name, value) -> canonicalHeaders.append(name).append(':')
                .append(CanonicalRequest.canonicalHeaderValue(List.of(value))).append('\n'));
        String signedHeaders = String.join(";", signed.keySet());
        String canonical = CanonicalRequest.of(method, CanonicalRequest.canonicalUri(rawPath), CanonicalRequest.canonicalQuery(rawQuery),
                canonicalHeaders.toString(), signedHeaders, payloadHash);
        CredentialScope scope = new CredentialScope(time.substring(0, 8), region, service, CredentialScope.TERMINATOR);
        String stringToSign = AuthorizationHeader.ALGORITHM + '\n' + time + '\n' + scope.value() + '\n'
                + Sha256.hex(canonical.getBytes(StandardCharsets.UTF_8));
        String signature = SigningKey.sign(SigningKey.derive(credential.secretAccessKey(), scope), stringToSign);
        Map<String, String> added = new LinkedHashMap<>();
        added.put("x-amz-date", time);
        added.put("x-amz-content-sha256", payloadHash);
        added.put("Authorization", AuthorizationHeader.ALGORITHM + " Credential=" + credential.accessKeyId() + "/" + scope.value()
                + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature);
        return added;
    }
}
