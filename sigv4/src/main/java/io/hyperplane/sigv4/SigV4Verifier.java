package io.hyperplane.sigv4;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies AWS Signature Version 4 on requests to the control plane's AWS-compatible APIs: the
 * server's half of AWS IAM User Guide, "Create a signed AWS API request". Only the Authorization
 * header form ({@code AWS4-HMAC-SHA256}) is accepted; presigned URLs, SigV4a and chunked
 * ({@code STREAMING-*}) payloads are not. Canonicalisation follows what the SDK for Java v2 and the
 * AWS CLI (botocore) sign for services other than S3; see {@link CanonicalRequest}.
 *
 * <p>The verifier proves who signed; it does not know which service or region it fronts, so the
 * caller checks {@link Verification.Authenticated#service()} and {@code region()}. Thread-safe if
 * the {@link CredentialLookup} is.
 */
public final class SigV4Verifier {
    public static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(15); // AWS: requests older or newer than 15 minutes are rejected

    /** IAM's longest access key id (IAM API reference, AccessKey); longer ids are never looked up. */
    static final int MAX_ACCESS_KEY_ID_LENGTH = 128;
    /** The x-amz-content-sha256 value by which a client leaves the body out of the signature. */
    static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

    static final String MISSING_AUTHENTICATION_MESSAGE = "Request is missing Authentication Token";
    static final String UNKNOWN_ACCESS_KEY_MESSAGE = "The security token included in the request is invalid.";
    static final String SIGNATURE_MISMATCH_MESSAGE = "The request signature we calculated does not match the signature"
            + " you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation"
            + " for details.";
    /** S3's wording (XAmzContentSHA256Mismatch): the other services never see a body that lies. */
    static final String PAYLOAD_HASH_MISMATCH_MESSAGE =
            "The provided 'x-amz-content-sha256' header does not match what was computed.";

    private final CredentialLookup lookup;
    private final Clock clock;

    public SigV4Verifier(CredentialLookup lookup, Clock clock) {
        this.lookup = Objects.requireNonNull(lookup, "lookup");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Verifies the Authorization header (AWS4-HMAC-SHA256) of the request; never throws for bad
     * input. Exceptions from the {@link CredentialLookup} propagate: a store that is down is not a
     * bad signature.
     */
    public Verification verify(SignedRequest request) {
        try {
            return authenticate(request);
        } catch (Rejection rejection) {
            return rejection.rejected();
        }
    }

    private Verification.Authenticated authenticate(SignedRequest request) throws Rejection {
        // Rule 1: no Authorization header, nothing to verify. X-Amz-Signature in the query (a
        // presigned URL) is not an alternative here.
        List<String> authorizations = request.header("Authorization");
        if (authorizations.isEmpty()) {
            throw new Rejection(Failure.MISSING_AUTHENTICATION, MISSING_AUTHENTICATION_MESSAGE);
        }

        // Rule 2: exactly one Authorization header, so that no proxy in front of us can have
        // checked a different one.
        if (authorizations.size() > 1) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE, "Authorization header must appear only once.");
        }

        // Rule 3: AWS4-HMAC-SHA256, then key=value parameters, each at most once.
        AuthorizationHeader authorization = AuthorizationHeader.parse(authorizations.getFirst());

        // Rule 4: Credential, SignedHeaders and Signature are all present, and so is a date,
        // X-Amz-Date or else Date. Like AWS, name everything that is missing in one message.
        List<String> amzDates = request.header("X-Amz-Date");
        List<String> httpDates = request.header("Date");
        requireComplete(authorization, !amzDates.isEmpty() || !httpDates.isEmpty(), authorizations.getFirst());

        // Rule 5: the date is one value in ISO 8601 basic format (or an HTTP date in Date).
        RequestTime time = amzDates.isEmpty()
                ? RequestTime.fromDateHeader(single("Date", httpDates))
                : RequestTime.fromAmzDate(single("X-Amz-Date", amzDates));

        // Rule 6: Credential is access-key-id/date/region/service/terminator.
        String[] credential = authorization.credential().split("/", -1);
        if (credential.length != 5) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE, "Credential must have exactly 5 slash-delimited elements,"
                    + " e.g. keyid/date/region/service/term, got '" + authorization.credential() + "'");
        }
        String accessKeyId = credential[0];
        CredentialScope scope = new CredentialScope(credential[1], credential[2], credential[3], credential[4]);

        // Rule 7: SignedHeaders lists distinct, non-empty header names.
        List<String> signedHeaders = signedHeaderNames(authorization.signedHeaders());

        // Rule 8: Host is signed; otherwise a signature made for one endpoint would be good at any
        // other. AWS answers SignatureDoesNotMatch.
        if (signedHeaders.stream().noneMatch(name -> name.equalsIgnoreCase("host"))) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH,
                    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        }

        // Rule 9: the scope ends in aws4_request, names a region and a service, and repeats the
        // request's date, so a signing key derived for one day is not good on another. AWS
        // answers SignatureDoesNotMatch, with these words.
        requireValidScope(scope, time);

        // Rule 10: signed within MAX_CLOCK_SKEW of our clock, either way, which bounds how long a
        // captured request can be replayed (AWS IAM User Guide, "AWS Signature Version 4 for API
        // requests": signed portions of a request are valid within 15 minutes of its time stamp).
        requireCurrent(time, clock.instant());

        // Rule 11: x-amz-content-sha256, when present, is a hex SHA-256 or UNSIGNED-PAYLOAD and
        // is the payload hash signed; otherwise the body's own hash is. STREAMING-* values are
        // refused: their chunk signatures would go unchecked.
        List<String> declaredHashes = request.header("x-amz-content-sha256");
        String payloadHash = declaredHashes.isEmpty()
                ? Sha256.hex(request.body())
                : declaredPayloadHash(single("x-amz-content-sha256", declaredHashes));

        // Rule 12: the access key exists. Only a plausible id reaches the store.
        Optional<Credential> found = isPlausibleAccessKeyId(accessKeyId) ? lookup.find(accessKeyId) : Optional.empty();
        Credential key = found.orElseThrow(() -> new Rejection(Failure.UNKNOWN_ACCESS_KEY, UNKNOWN_ACCESS_KEY_MESSAGE));

        // Rule 13: every signed header arrived; a proxy that dropped one broke the signature.
        String canonicalHeaders = canonicalHeaders(request, signedHeaders);

        // Rule 14: the signature is the one we compute, compared in constant time so that how long
        // a refusal takes tells nothing about the expected signature.
        String canonicalRequest = CanonicalRequest.of(request.method(), CanonicalRequest.canonicalUri(request.rawPath()),
                CanonicalRequest.canonicalQuery(request.rawQuery()), canonicalHeaders, authorization.signedHeaders(),
                payloadHash);
        String stringToSign = AuthorizationHeader.ALGORITHM + '\n' + time.basic() + '\n' + scope.value() + '\n'
                + Sha256.hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
        String expected = SigningKey.sign(SigningKey.derive(key.secretAccessKey(), scope), stringToSign);
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                authorization.signature().getBytes(StandardCharsets.UTF_8))) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH, SIGNATURE_MISMATCH_MESSAGE);
        }

        // Rule 15: a declared payload hash is the body's. The signature covers the declared hash,
        // not the body, so without this the body could be swapped under a good signature.
        if (!declaredHashes.isEmpty() && !payloadHash.equals(UNSIGNED_PAYLOAD)
                && !payloadHash.equalsIgnoreCase(Sha256.hex(request.body()))) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH, PAYLOAD_HASH_MISMATCH_MESSAGE);
        }

        return new Verification.Authenticated(key, scope.region(), scope.service());
    }

    private static void requireComplete(AuthorizationHeader authorization, boolean hasDate, String header)
            throws Rejection {
        List<String> missing = new ArrayList<>();
        if (authorization.credential() == null) {
            missing.add("Authorization header requires 'Credential' parameter.");
        }
        if (authorization.signature() == null) {
            missing.add("Authorization header requires 'Signature' parameter.");
        }
        if (authorization.signedHeaders() == null) {
            missing.add("Authorization header requires 'SignedHeaders' parameter.");
        }
        if (!hasDate) {
            missing.add("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        }
        if (!missing.isEmpty()) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE, String.join(" ", missing) + " Authorization=" + header);
        }
    }

    private static String single(String name, List<String> values) throws Rejection {
        if (values.size() > 1) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE, name + " header must appear only once.");
        }
        return values.getFirst();
    }

    private static List<String> signedHeaderNames(String signedHeaders) throws Rejection {
        List<String> names = List.of(signedHeaders.split(";", -1));
        Set<String> distinct = new HashSet<>();
        for (String name : names) {
            if (name.isEmpty() || !distinct.add(name.toLowerCase(Locale.ROOT))) {
                throw new Rejection(Failure.INCOMPLETE_SIGNATURE, "SignedHeaders must be a ';'-separated list of"
                        + " distinct header names, got '" + signedHeaders + "'");
            }
        }
        return names;
    }

    private static void requireValidScope(CredentialScope scope, RequestTime time) throws Rejection {
        if (!scope.terminator().equals(CredentialScope.TERMINATOR)) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH, "Credential should be scoped with a valid terminator: '"
                    + CredentialScope.TERMINATOR + "', not '" + scope.terminator() + "'.");
        }
        if (scope.region().isEmpty()) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH, "Credential should be scoped to a valid region, not ''.");
        }
        if (scope.service().isEmpty()) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH, "Credential should be scoped to a valid service, not ''.");
        }
        if (!scope.date().equals(time.date())) {
            throw new Rejection(Failure.SIGNATURE_MISMATCH, "Date in Credential scope does not match YYYYMMDD from"
                    + " ISO-8601 version of date from HTTP: '" + scope.date() + "' != '" + time.date() + "', from '"
                    + time.basic() + "'.");
        }
    }

    private static void requireCurrent(RequestTime time, Instant now) throws Rejection {
        long minutes = MAX_CLOCK_SKEW.toMinutes();
        Instant earliest = now.minus(MAX_CLOCK_SKEW);
        if (time.instant().isBefore(earliest)) {
            throw new Rejection(Failure.EXPIRED, "Signature expired: " + time.basic() + " is now earlier than "
                    + RequestTime.basic(earliest) + " (" + RequestTime.basic(now) + " - " + minutes + " min.)");
        }
        Instant latest = now.plus(MAX_CLOCK_SKEW);
        if (time.instant().isAfter(latest)) {
            throw new Rejection(Failure.EXPIRED, "Signature not yet current: " + time.basic() + " is still later than "
                    + RequestTime.basic(latest) + " (" + RequestTime.basic(now) + " + " + minutes + " min.)");
        }
    }

    private static String declaredPayloadHash(String declared) throws Rejection {
        if (!declared.equals(UNSIGNED_PAYLOAD) && !Sha256.isHex(declared)) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE,
                    "x-amz-content-sha256 must be " + UNSIGNED_PAYLOAD + " or a valid sha256 value.");
        }
        return declared;
    }

    /** IAM access key ids are word characters (IAM API reference, AccessKey: pattern [\w]+). */
    private static boolean isPlausibleAccessKeyId(String accessKeyId) {
        if (accessKeyId.isEmpty() || accessKeyId.length() > MAX_ACCESS_KEY_ID_LENGTH) {
            return false;
        }
        for (int i = 0; i < accessKeyId.length(); i++) {
            char c = accessKeyId.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** The canonical headers block, one {@code name:value\n} line per signed header, in signed order. */
    private static String canonicalHeaders(SignedRequest request, List<String> signedHeaders) throws Rejection {
        StringBuilder lines = new StringBuilder(256);
        for (String name : signedHeaders) {
            List<String> values = request.header(name);
            if (values.isEmpty()) {
                throw new Rejection(Failure.SIGNATURE_MISMATCH, SIGNATURE_MISMATCH_MESSAGE);
            }
            lines.append(name).append(':').append(CanonicalRequest.canonicalHeaderValue(values)).append('\n');
        }
        return lines.toString();
    }
}
