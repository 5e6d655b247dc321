package io.hyperplane.sigv4;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Builds the SigV4 canonical request from a request as received (AWS IAM User Guide, "Create a
 * signed AWS API request", step 1):
 * <pre>
 * method \n canonical URI \n canonical query string \n canonical headers \n signed headers \n payload hash
 * </pre>
 * The rules are the ones real clients apply when they sign, checked against the AWS SDK for Java v2
 * ({@code V4CanonicalRequest}) and botocore ({@code SigV4Auth}), not a paraphrase of the guide:
 * where they differ from the guide, the clients win, since theirs are the signatures we must accept.
 */
final class CanonicalRequest {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private CanonicalRequest() {
    }

    static String of(String method, String canonicalUri, String canonicalQuery, String canonicalHeaders,
                     String signedHeaders, String payloadHash) {
        return method + '\n' + canonicalUri + '\n' + canonicalQuery + '\n' + canonicalHeaders + '\n'
                + signedHeaders + '\n' + payloadHash;
    }

    /**
     * The canonical URI of a path as sent, for every service but S3: dot segments and empty
     * segments removed, then the still-encoded path URI-encoded once more with '/' kept. This is the
     * guide's "encode each path segment twice" as clients do it: both the SDK for Java v2
     * ({@code NORMALIZE_PATH} and {@code DOUBLE_URL_ENCODE}, true by default) and botocore
     * ({@code quote(normalize_url_path(path), safe='/~')}) encode the path they put on the wire
     * again, so {@code /functions/my%3Afunction} signs as {@code /functions/my%253Afunction}.
     * Never decode first: a client that sent {@code :} raw signed {@code %3A}, not {@code %253A}.
     */
    static String canonicalUri(String rawPath) {
        return encode(removeDotSegments(rawPath).getBytes(StandardCharsets.UTF_8), true);
    }

    /**
     * RFC 3986 section 5.2.4 dot-segment removal, plus collapsing of repeated slashes, as botocore's
     * {@code remove_dot_segments} does it (java.net.URI.normalize, which the SDK uses, agrees on
     * every path but one starting with {@code /..}, which it keeps; such a path never reaches a
     * server that resolved it). A trailing slash survives when anything precedes it.
     */
    static String removeDotSegments(String path) {
        List<String> segments = new ArrayList<>();
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..")) {
                if (!segments.isEmpty()) {
                    segments.removeLast();
                }
                continue;
            }
            segments.add(segment);
        }
        boolean trailingSlash = path.endsWith("/") && !segments.isEmpty();
        return "/" + String.join("/", segments) + (trailingSlash ? "/" : "");
    }

    /**
     * The canonical query string: each name and value percent-decoded and re-encoded with the RFC
     * 3986 unreserved set, sorted by encoded name then value, joined as {@code name=value} with
     * {@code =} always present. Decoding first makes {@code %7E} and {@code ~} (or {@code %3a} and
     * {@code %3A}) sign alike, as they do for a client that encodes decoded parameters. A {@code +}
     * is a literal plus, not a space: SigV4 clients send a space as {@code %20}. A {@code %} not
     * followed by two hex digits is kept as a literal {@code %}. Parameters with an empty name are
     * skipped, as the SDK for Java v2 does when it signs.
     */
    static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        List<Parameter> parameters = new ArrayList<>();
        for (String pair : rawQuery.split("&", -1)) {
            int equals = pair.indexOf('=');
            String name = encode(percentDecode(equals < 0 ? pair : pair.substring(0, equals)), false);
            if (name.isEmpty()) {
                continue;
            }
            String value = equals < 0 ? "" : encode(percentDecode(pair.substring(equals + 1)), false);
            parameters.add(new Parameter(name, value));
        }
        parameters.sort(Parameter.ORDER);
        StringBuilder query = new StringBuilder(rawQuery.length() + 16);
        for (Parameter parameter : parameters) {
            if (!query.isEmpty()) {
                query.append('&');
            }
            query.append(parameter.name()).append('=').append(parameter.value());
        }
        return query.toString();
    }

    /** One encoded query parameter. Encoded text is ASCII, so String order is byte order. */
    private record Parameter(String name, String value) {
        static final Comparator<Parameter> ORDER =
                Comparator.comparing(Parameter::name).thenComparing(Parameter::value);
    }

    /**
     * One canonical header value: each value trimmed with inner runs of whitespace collapsed to a
     * single space, the values joined with commas in the order received. Whitespace is what the SDK
     * for Java v2 collapses: space, tab, CR, LF, vertical tab and form feed.
     */
    static String canonicalHeaderValue(List<String> values) {
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                joined.append(',');
            }
            appendTrimmedAndCollapsed(joined, values.get(i));
        }
        return joined.toString();
    }

    private static void appendTrimmedAndCollapsed(StringBuilder out, String value) {
        boolean pendingSpace = false;
        boolean wroteAny = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (isWhitespace(c)) {
                pendingSpace = wroteAny;
                continue;
            }
            if (pendingSpace) {
                out.append(' ');
                pendingSpace = false;
            }
            out.append(c);
            wroteAny = true;
        }
    }

    private static boolean isWhitespace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\u000b' || c == '\f';
    }

    /** UTF-8 bytes of {@code text} with each valid {@code %XX} escape replaced by its byte. */
    private static byte[] percentDecode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream decoded = new ByteArrayOutputStream(bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '%' && i + 2 < bytes.length && hexValue(bytes[i + 1]) >= 0 && hexValue(bytes[i + 2]) >= 0) {
                decoded.write(hexValue(bytes[i + 1]) << 4 | hexValue(bytes[i + 2]));
                i += 2;
            } else {
                decoded.write(bytes[i]);
            }
        }
        return decoded.toByteArray();
    }

    /** The value of an ASCII hex digit, or -1. */
    static int hexValue(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** RFC 3986 percent-encoding of everything outside the unreserved set (and '/' if kept). */
    private static String encode(byte[] bytes, boolean keepSlash) {
        StringBuilder encoded = new StringBuilder(bytes.length + 16);
        for (byte b : bytes) {
            char c = (char) (b & 0xff);
            if (isUnreserved(c) || (keepSlash && c == '/')) {
                encoded.append(c);
            } else {
                encoded.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return encoded.toString();
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_' || c == '.' || c == '~';
    }
}
