package io.hyperplane.lab.service;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 server connection (RFC 9112): persistent by default, pipelining allowed,
 * never closed for idleness. {@code GET /whoami} answers {@code <peer-ip>:<peer-port>\n} — the
 * address the server saw, which behind a NAT is the translated one — and so does {@code GET /},
 * so that {@code http://whoami.internet.test/} answers as its name says. Anything else is 404.
 */
final class HttpConnection extends TcpConnection {
    static final String WHOAMI = "/whoami";
    static final String ROOT = "/";
    static final int MAX_HEAD = 8192; // larger request heads get 431, as common servers do
    private static final byte[] END_OF_HEAD = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private byte[] carry = new byte[0]; // an unfinished request head from earlier reads
    private long bodyToSkip;

    HttpConnection(SocketChannel channel) throws IOException {
        super(channel);
    }

    @Override
    void received(ByteBuffer data) throws IOException {
        byte[] bytes = new byte[carry.length + data.remaining()];
        System.arraycopy(carry, 0, bytes, 0, carry.length);
        data.get(bytes, carry.length, data.remaining());
        int at = 0;
        while (isOpen()) {
            int skip = (int) Math.min(bodyToSkip, bytes.length - at);
            at += skip;
            bodyToSkip -= skip;
            int end = indexOf(bytes, at, END_OF_HEAD);
            if (end < 0) {
                break;
            }
            String head = new String(bytes, at, end - at, StandardCharsets.ISO_8859_1);
            at = end + END_OF_HEAD.length;
            if (!answer(head)) {
                return;
            }
        }
        carry = Arrays.copyOfRange(bytes, at, bytes.length);
        if (carry.length > MAX_HEAD) {
            respond(431, "Request Header Fields Too Large", "request head too large\n", true);
        }
    }

    /** Answers one request; false when the connection is closing. */
    private boolean answer(String head) throws IOException {
        String[] lines = head.split("\r\n");
        String[] requestLine = lines[0].split(" ");
        if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
            respond(400, "Bad Request", "malformed request line\n", true);
            return false;
        }
        boolean close = requestLine[2].equals("HTTP/1.0"); // HTTP/1.0 closes unless asked to keep alive
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).trim().toLowerCase(Locale.ROOT);
            if (name.equals("content-length")) {
                try {
                    bodyToSkip = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    respond(400, "Bad Request", "bad content-length\n", true);
                    return false;
                }
            } else if (name.equals("connection")) {
                close = value.contains("close") || (close && !value.contains("keep-alive"));
            }
        }
        String method = requestLine[0];
        String path = requestLine[1];
        if (!path.equals(WHOAMI) && !path.equals(ROOT)) {
            respond(404, "Not Found", "not found\n", close);
        } else if (!method.equals("GET")) {
            respond(405, "Method Not Allowed", "only GET\n", close);
        } else {
            respond(200, "OK", peer.getAddress().getHostAddress() + ":" + peer.getPort() + "\n", close);
        }
        return !close;
    }

    private void respond(int status, String reason, String body, boolean close) throws IOException {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + " " + reason + "\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + content.length + "\r\n"
                + (close ? "Connection: close\r\n" : "")
                + "\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        send(ByteBuffer.allocate(headBytes.length + content.length).put(headBytes).put(content).flip());
        if (close) {
            closeAfterFlush();
        }
    }

    private static int indexOf(byte[] bytes, int from, byte[] pattern) {
        outer:
        for (int i = from; i <= bytes.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
