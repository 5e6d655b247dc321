package io.hyperplane.lab.service;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The resource hosts' services — TCP echo, UDP echo, HTTP whoami — on one NIO selector thread.
 * Per-connection state is small and allocated only when needed (a shared read buffer; output
 * kept only when the socket would block), so tens of thousands of idle connections fit in a
 * small heap.
 * <pre>
 *   selector ── listener (tcp echo | http) ──accept──▶ EchoConnection | HttpConnection
 *            └─ UDP echo channel: each datagram straight back to its sender
 * </pre>
 */
public final class ServiceHost implements Closeable {
    /**
     * Every connection one ENI address can have open to one port (NAT ports 1024-65535), so a
     * burst from behind one ENI never overflows the accept queue. The kernel caps it at the
     * namespace's net.core.somaxconn, which the lab raises to this in resource namespaces.
     */
    public static final int BACKLOG = 65_535;
    private static final int READ_BUFFER = 64 * 1024;
    private static final int ACCEPTS_PER_WAKEUP = 256; // bounded so one busy listener cannot starve the rest
    private static final int DATAGRAMS_PER_WAKEUP = 64;

    /** A service kind and the command-line flag that asks for it. */
    public enum Kind {
        TCP_ECHO("--tcp-echo"), UDP_ECHO("--udp-echo"), HTTP("--http");

        private final String flag;

        Kind(String flag) {
            this.flag = flag;
        }

        public String flag() {
            return flag;
        }
    }

    /** A service to run: kind and port (0 picks a free one, for tests). */
    public record Listener(Kind kind, int port) {
        public Listener {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException(kind.flag() + " " + port + ": port must be 0..65535");
            }
        }
    }

    /** What the selector calls when a channel is ready. */
    interface Handler extends Closeable {
        void ready(SelectionKey key, ByteBuffer scratch) throws IOException;
    }

    private final Selector selector;
    private final List<InetSocketAddress> bound = new ArrayList<>();
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(READ_BUFFER);
    private volatile boolean running = true;

    private ServiceHost(Selector selector) {
        this.selector = selector;
    }

    /** Binds every listener on {@code address}; nothing runs until {@link #run} or {@link #start}. */
    public static ServiceHost bind(InetAddress address, List<Listener> listeners) throws IOException {
        ServiceHost host = new ServiceHost(Selector.open());
        try {
            for (Listener listener : listeners) {
                host.bound.add(host.open(address, listener));
            }
        } catch (IOException e) {
            host.closeChannels();
            throw new IOException("cannot bind " + address.getHostAddress() + " for " + listeners + ": " + e.getMessage(), e);
        }
        return host;
    }

    /** The address each listener got, in the order given to {@link #bind}. */
    public List<InetSocketAddress> boundAddresses() {
        return List.copyOf(bound);
    }

    /** Runs the selector loop on the calling thread until {@link #close}. */
    public void run() {
        try {
            while (running) {
                selector.select(this::dispatch);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("service host selector failed", e);
        } finally {
            closeChannels();
        }
    }

    /** Runs the loop on a new thread named "service-host". */
    public Thread start() {
        return Thread.ofPlatform().name("service-host").start(this::run);
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
    }

    private InetSocketAddress open(InetAddress address, Listener listener) throws IOException {
        InetSocketAddress local = new InetSocketAddress(address, listener.port());
        if (listener.kind() == Kind.UDP_ECHO) {
            DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(local).configureBlocking(false);
            channel.register(selector, SelectionKey.OP_READ, new UdpEcho(channel));
            return (InetSocketAddress) channel.getLocalAddress();
        }
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.INET);
        channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        channel.bind(local, BACKLOG).configureBlocking(false);
        channel.register(selector, SelectionKey.OP_ACCEPT, new Acceptor(channel, listener.kind()));
        return (InetSocketAddress) channel.getLocalAddress();
    }

    private void dispatch(SelectionKey key) {
        Handler handler = (Handler) key.attachment();
        try {
            if (key.isValid()) {
                handler.ready(key, scratch);
            }
        } catch (IOException e) {
            if (handler instanceof TcpConnection) {
                closeQuietly(handler); // reset or broken pipe: that connection's business only
            } else {
                System.err.println("service-host: " + e); // a listener keeps listening
            }
        }
    }

    private void closeChannels() {
        for (SelectionKey key : selector.keys()) {
            closeQuietly(key.channel());
        }
        closeQuietly(selector);
    }

    private static void closeQuietly(Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException e) {
            // closing on the way out: nothing left to tell
        }
    }

    private final class Acceptor implements Handler {
        private final ServerSocketChannel channel;
        private final Kind kind;

        Acceptor(ServerSocketChannel channel, Kind kind) {
            this.channel = channel;
            this.kind = kind;
        }

        @Override
        public void ready(SelectionKey key, ByteBuffer unused) throws IOException {
            for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                SocketChannel accepted = channel.accept();
                if (accepted == null) {
                    return;
                }
                accepted.configureBlocking(false);
                accepted.setOption(StandardSocketOptions.TCP_NODELAY, true);
                TcpConnection connection = kind == Kind.HTTP ? new HttpConnection(accepted) : new EchoConnection(accepted);
                connection.register(accepted.register(selector, SelectionKey.OP_READ, connection));
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** UDP echo (RFC 862): each datagram goes back to its sender; one the socket cannot take is dropped, as UDP may. */
    private record UdpEcho(DatagramChannel channel) implements Handler {
        @Override
        public void ready(SelectionKey key, ByteBuffer scratch) throws IOException {
            for (int i = 0; i < DATAGRAMS_PER_WAKEUP; i++) {
                scratch.clear();
                SocketAddress sender = channel.receive(scratch);
                if (sender == null) {
                    return;
                }
                scratch.flip();
                channel.send(scratch, sender);
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
