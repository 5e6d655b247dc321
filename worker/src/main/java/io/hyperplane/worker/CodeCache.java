package io.hyperplane.worker;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Function code (zip files) a worker has fetched, keyed by the SHA-256 of the bytes it verified
 * itself, in Lambda's CodeSha256 form (base64). A hash the worker was only told is never trusted:
 * bytes whose digest differs from what the invocation names are refused, so a cache entry always
 * holds exactly the code its key says. Bounded in bytes; the least recently used code goes first.
 */
final class CodeCache {
    /** Room for the code of many functions (Lambda's zip limit is 50 MB each) without growing with the fleet's history. */
    static final long DEFAULT_MAX_BYTES = 256L * 1024 * 1024;

    /** Fetches a function's code when it is not cached. */
    interface Fetch {
        byte[] code() throws IOException, InterruptedException;
    }

    /** The fetched bytes do not have the digest the invocation names. */
    static final class CodeMismatchException extends IOException {
        CodeMismatchException(String expected, String actual) {
            super("the fetched code's SHA-256 is " + actual + ", not " + expected + ": refused");
        }
    }

    private final long maxBytes;
    private final LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    CodeCache(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("code cache size " + maxBytes + ": must be > 0 bytes");
        }
        this.maxBytes = maxBytes;
    }

    /** The code whose SHA-256 is {@code sha256} (base64), from the cache or fetched and verified. */
    byte[] get(String sha256, Fetch fetch) throws IOException, InterruptedException {
        synchronized (this) {
            byte[] cached = entries.get(sha256);
            if (cached != null) {
                return cached;
            }
        }
        byte[] zip = fetch.code();
        String actual = sha256(zip);
        if (!actual.equals(sha256)) {
            throw new CodeMismatchException(sha256, actual);
        }
        synchronized (this) {
            if (zip.length <= maxBytes && !entries.containsKey(actual)) {
                entries.put(actual, zip);
                bytes += zip.length;
                var eldest = entries.entrySet().iterator();
                while (bytes > maxBytes && eldest.hasNext()) {
                    Map.Entry<String, byte[]> e = eldest.next();
                    bytes -= e.getValue().length;
                    eldest.remove();
                }
            }
        }
        return zip;
    }

    synchronized long bytes() {
        return bytes;
    }

    synchronized int size() {
        return entries.size();
    }

    static String sha256(byte[] data) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
