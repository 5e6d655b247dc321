package io.hyperplane.sigv4;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the verifier needs of an HTTP request. Header names are matched case-insensitively; the
 * values of headers whose names differ only in case are merged, in order.
 *
 * @param method   the request method exactly as sent ({@code POST}): SigV4 signs it verbatim
 * @param rawPath  the path as sent, still percent-encoded (Jetty's {@code getRequestURI()}, not a
 *                 decoded path): clients sign the encoded form, so decoding here would lose what
 *                 they signed
 * @param rawQuery the query as sent, percent-encoded, without the {@code ?} ({@code getQueryString()});
 *                 null when absent
 * @param headers  every header of the request, each with all its values in order
 * @param body     the request body, empty when none; not copied, so the caller must not change it
 */
public record SignedRequest(String method, String rawPath, String rawQuery, Map<String, List<String>> headers,
                            byte[] body) {

    public SignedRequest {
        if (method == null || method.isEmpty()) {
            throw new IllegalArgumentException("method must not be empty");
        }
        if (rawPath == null) {
            throw new IllegalArgumentException("rawPath must not be null: the root path is \"/\"");
        }
        if (headers == null) {
            throw new IllegalArgumentException("headers must not be null: use an empty map");
        }
        if (body == null) {
            throw new IllegalArgumentException("body must not be null: use an empty array for no body");
        }
        headers = caseInsensitiveCopy(headers);
    }

    /** All values of the header {@code name} in the order received; empty when absent. */
    public List<String> header(String name) {
        return headers.getOrDefault(name, List.of());
    }

    private static Map<String, List<String>> caseInsensitiveCopy(Map<String, List<String>> headers) {
        Map<String, List<String>> merged = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Map.Entry<String, List<String>> header : headers.entrySet()) {
            String name = header.getKey();
            if (name == null) {
                throw new IllegalArgumentException("headers: a header name is null");
            }
            if (header.getValue() == null) {
                throw new IllegalArgumentException("header " + name + ": values must not be null");
            }
            for (String value : header.getValue()) {
                if (value == null) {
                    throw new IllegalArgumentException("header " + name + ": a value is null");
                }
                merged.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
            }
        }
        merged.replaceAll((name, values) -> List.copyOf(values));
        return Collections.unmodifiableMap(merged);
    }
}
