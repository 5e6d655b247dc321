package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * {@code count} HTTP GETs on ONE connection, {@code intervalMs} apart: shows whether an established
 * connection keeps working while the network's rules change under it. Reports each request's outcome.
 */
final class HttpKeepAlive {
    private HttpKeepAlive() {
    }

    static ObjectNode run(InetSocketAddress target, String path, int count, long intervalMs, long timeoutMs) {
        ObjectNode result = JsonNodeFactory.instance.objectNode();
        ArrayNode outcomes = result.putArray("requests");
        int ok = 0;
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(target, (int) timeoutMs);
            socket.setSoTimeout((int) timeoutMs);
            InputStream in = socket.getInputStream();
            byte[] request = SimpleProbes.request(target, path).getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < count; i++) {
                if (i > 0) {
                    Thread.sleep(intervalMs);
                }
                socket.getOutputStream().write(request);
                socket.getOutputStream().flush();
                byte[] bytes = new byte[1024];
                int n = 0;
                HttpResponse response = null;
                while (response == null) {
                    int read = in.read(bytes, n, bytes.length - n);
                    if (read < 0) {
                        throw new IOException("connection closed");
                    }
                    n += read;
                    response = HttpResponse.parse(bytes, n);
                }
                outcomes.add(response.status());
                ok++;
            }
        } catch (IOException e) {
            result.put("error", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            result.put("error", "interrupted");
        }
        return result.put("ok", ok == count).put("answered", ok);
    }
}
