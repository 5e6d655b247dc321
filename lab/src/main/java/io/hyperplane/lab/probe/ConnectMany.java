package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Opens N TCP connections at once (non-blocking connects on one selector), sends
 * {@code GET /whoami} on each, and keeps every one open until all have answered or time is up:
 * N concurrent flows through whatever sits between, e.g. a NAT. Reports how many connected and
 * answered, and the distinct peer addresses the server saw.
 */
final class ConnectMany {
    private static final int FIRST_READ = 512;

    private final InetSocketAddress target;
    private final int count;
    private final long timeoutMs;
    private final byte[] request;
    private final Map<String, Integer> errors = new TreeMap<>();
    private final Set<String> peers = new LinkedHashSet<>();
    private final Set<String> peerIps = new LinkedHashSet<>();
    private int connected;
    private int answered;
    private int finished;

    private final long holdMs;

    /**
     * {@code holdMs}: once every connection answered, keep them all open this much longer, so
     * several probes running at once (from several EEs) overlap and their flows are concurrent.
     */
    ConnectMany(InetSocketAddress target, int count, long timeoutMs, long holdMs) {
        this.target = target;
        this.count = count;
        this.timeoutMs = timeoutMs;
        this.holdMs = holdMs;
        this.request = SimpleProbes.request(target, "/whoami").getBytes(StandardCharsets.US_ASCII);
    }

    ObjectNode run() throws IOException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        List<SocketChannel> channels = new ArrayList<>(count);
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < count; i++) {
                open(selector, channels);
            }
            while (finished < count) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    break;
                }
                selector.select(key -> ready(key), left);
            }
            if (holdMs > 0) {
                sleep(holdMs);
            }
        } finally {
            for (SocketChannel channel : channels) {
                channel.close();
            }
        }
        int unfinished = count - finished;
        if (unfinished > 0) {
            errors.merge("timeout", unfinished, Integer::sum);
        }
        ObjectNode result = JsonNodeFactory.instance.objectNode()
                .put("requested", count)
                .put("connected", connected)
                .put("answered", answered)
                .put("distinctPeers", peers.size());
        ArrayNode ips = result.putArray("peerIps");
        peerIps.forEach(ips::add);
        ArrayNode all = result.putArray("peers");
        peers.forEach(all::add);
        ObjectNode errorCounts = result.putObject("errors");
        errors.forEach(errorCounts::put);
        return result.put("ok", answered == count);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void open(Selector selector, List<SocketChannel> channels) {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open();
            channels.add(channel);
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Exchange exchange = new Exchange(channel);
            SelectionKey key = channel.register(selector, SelectionKey.OP_CONNECT, exchange);
            if (channel.connect(target)) {
                connected(key, exchange);
            }
        } catch (IOException e) {
            fail(channel, e);
        }
    }

    private void ready(SelectionKey key) {
        Exchange exchange = (Exchange) key.attachment();
        try {
            if (key.isConnectable()) {
                if (exchange.channel.finishConnect()) {
                    connected(key, exchange);
                }
            } else if (key.isWritable()) {
                write(key, exchange);
            } else if (key.isReadable()) {
                read(key, exchange);
            }
        } catch (IOException | IllegalArgumentException e) {
            key.cancel();
            fail(exchange.channel, e);
        }
    }

    private void connected(SelectionKey key, Exchange exchange) throws IOException {
        connected++;
        write(key, exchange);
    }

    private void write(SelectionKey key, Exchange exchange) throws IOException {
        exchange.channel.write(exchange.output);
        key.interestOps(exchange.output.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    private void read(SelectionKey key, Exchange exchange) throws IOException {
        if (exchange.count == exchange.input.length) {
            exchange.input = Arrays.copyOf(exchange.input, exchange.input.length * 2);
        }
        int read = exchange.channel.read(ByteBuffer.wrap(exchange.input, exchange.count, exchange.input.length - exchange.count));
        if (read < 0) {
            throw new IOException("connection reset: closed before a complete response");
        }
        exchange.count += read;
        HttpResponse response = HttpResponse.parse(exchange.input, exchange.count);
        if (response == null) {
            return;
        }
        key.interestOps(0); // answered: stay open, silent, until the run ends
        finished++;
        if (response.status() != 200) {
            errors.merge("http-" + response.status(), 1, Integer::sum);
            return;
        }
        answered++;
        String peer = response.body().strip();
        peers.add(peer);
        int colon = peer.lastIndexOf(':');
        peerIps.add(colon < 0 ? peer : peer.substring(0, colon));
        exchange.input = null;
    }

    private void fail(SocketChannel channel, Throwable e) {
        finished++;
        errors.merge(Failures.classify(e), 1, Integer::sum);
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // already failed; the count above is what matters
            }
        }
    }

    private final class Exchange {
        final SocketChannel channel;
        final ByteBuffer output = ByteBuffer.wrap(request);
        byte[] input = new byte[FIRST_READ];
        int count;

        Exchange(SocketChannel channel) {
            this.channel = channel;
        }
    }
}
