package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/** One exchange each: TCP echo, UDP echo, HTTP GET. Each answers {"ok":true,...} or {"ok":false,"error":...}. */
final class SimpleProbes {
    private static final int MAX_DATAGRAM = 65535;

    private SimpleProbes() {
    }

    /** Connects, sends {@code text}, reads until as many bytes came back (or EOF, or timeout). */
    static ObjectNode tcp(InetSocketAddress target, String text, long timeoutMs) {
        long start = System.nanoTime();
        byte[] sent = text.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(target, remaining(start, timeoutMs));
            socket.getOutputStream().write(sent);
            socket.getOutputStream().flush();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            while (reply.size() < sent.length) {
                socket.setSoTimeout(remaining(start, timeoutMs));
                int read = in.read(buffer);
                if (read < 0) {
                    break;
                }
                reply.write(buffer, 0, read);
            }
            return ok().put("reply", reply.toString(StandardCharsets.UTF_8));
        } catch (IOException | IllegalStateException e) {
            return failed(e);
        }
    }

    static ObjectNode udp(InetSocketAddress target, String text, long timeoutMs) {
        long start = System.nanoTime();
        byte[] sent = text.getBytes(StandardCharsets.UTF_8);
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.connect(target); // connected, so an ICMP port unreachable surfaces as PortUnreachableException
            socket.send(new DatagramPacket(sent, sent.length));
            socket.setSoTimeout(remaining(start, timeoutMs));
            DatagramPacket reply = new DatagramPacket(new byte[MAX_DATAGRAM], MAX_DATAGRAM);
            socket.receive(reply);
            return ok().put("reply", new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8));
        } catch (IOException | IllegalStateException e) {
            return failed(e);
        }
    }

    /**
     * Sends {@code count} datagrams of seeded random garbage (0..1500 bytes; now and then behind a
     * valid VXLAN flag byte so deeper layers see garbage too) to {@code target}: a robustness
     * probe for a node's UDP port. Bounded in count and time; reports what it sent.
     */
    static ObjectNode flood(InetSocketAddress target, int count, long seed, long timeoutMs) {
        long start = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        byte[] garbage = new byte[1500];
        long sent = 0;
        try (DatagramSocket socket = new DatagramSocket()) {
            DatagramPacket packet = new DatagramPacket(garbage, 0, target);
            for (int i = 0; i < count && remaining(start, timeoutMs) > 1; i++) {
                int length = random.nextInt(garbage.length + 1);
                for (int j = 0; j < length; j++) {
                    garbage[j] = (byte) random.nextInt();
                }
                if (length > 8 && random.nextBoolean()) {
                    garbage[0] = 0x08;
                }
                packet.setLength(length);
                socket.send(packet);
                sent++;
            }
            return ok().put("sent", sent);
        } catch (IOException e) {
            return failed(e).put("sent", sent);
        }
    }

    static ObjectNode http(InetSocketAddress target, String path, long timeoutMs) {
        long start = System.nanoTime();
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(target, remaining(start, timeoutMs));
            socket.getOutputStream().write(request(target, path).getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            byte[] bytes = new byte[1024];
            int count = 0;
            while (true) {
                HttpResponse response = HttpResponse.parse(bytes, count);
                if (response != null) {
                    return ok().put("status", response.status()).put("body", response.body());
                }
                if (count == bytes.length) {
                    bytes = Arrays.copyOf(bytes, bytes.length * 2);
                }
                socket.setSoTimeout(remaining(start, timeoutMs));
                int read = in.read(bytes, count, bytes.length - count);
                if (read < 0) {
                    return failed(new IOException("connection closed before a complete response"));
                }
                count += read;
            }
        } catch (IOException | IllegalArgumentException | IllegalStateException e) {
            return failed(e);
        }
    }

    static String request(InetSocketAddress target, String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: " + target.getAddress().getHostAddress() + ":" + target.getPort() + "\r\n\r\n";
    }

    /** Milliseconds left (at least 1: 0 means "forever" to java.net). */
    private static int remaining(long start, long timeoutMs) throws SocketTimeoutException {
        long left = timeoutMs - (System.nanoTime() - start) / 1_000_000;
        if (left <= 0) {
            throw new SocketTimeoutException("timed out");
        }
        return (int) Math.min(Integer.MAX_VALUE, left);
    }

    static ObjectNode ok() {
        return JsonNodeFactory.instance.objectNode().put("ok", true);
    }

    static ObjectNode failed(Throwable e) {
        ObjectNode failure = JsonNodeFactory.instance.objectNode().put("ok", false).put("error", Failures.classify(e));
        return e.getMessage() == null ? failure : failure.put("detail", e.getMessage());
    }
}
