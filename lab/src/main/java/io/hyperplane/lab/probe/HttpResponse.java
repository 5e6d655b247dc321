package io.hyperplane.lab.probe;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** A parsed HTTP/1.1 response with a Content-Length body: all the lab's HTTP server sends. */
record HttpResponse(int status, String body, int length) {

    /** Parses the first response in {@code bytes[0..count)}; null while it is incomplete. */
    static HttpResponse parse(byte[] bytes, int count) {
        int headEnd = -1;
        for (int i = 0; i + 3 < count; i++) {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') {
                headEnd = i;
                break;
            }
        }
        if (headEnd < 0) {
            return null;
        }
        String[] lines = new String(bytes, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
            throw new IllegalArgumentException("malformed status line: " + lines[0]);
        }
        int status = Integer.parseInt(statusLine[1]);
        int contentLength = 0;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
                contentLength = Integer.parseInt(lines[i].substring(colon + 1).trim());
            }
        }
        int bodyStart = headEnd + 4;
        if (count - bodyStart < contentLength) {
            return null;
        }
        return new HttpResponse(status, new String(bytes, bodyStart, contentLength, StandardCharsets.UTF_8), bodyStart + contentLength);
    }
}
