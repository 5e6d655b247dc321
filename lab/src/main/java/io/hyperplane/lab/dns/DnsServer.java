package io.hyperplane.lab.dns;

import io.hyperplane.linux.netns.NetworkNamespace;

import java.io.Closeable;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A DNS server on UDP port 53 of one address in one network namespace: its socket is opened
 * inside the namespace ({@link NetworkNamespace}) and keeps it, while its thread (one per server,
 * so a flood at one VPC's resolver takes nothing from another's) stays in the JVM's. What it knows
 * is replaced whole by {@link #update} as the fabric converges.
 * <p>Bounded against a hostile sender: a message longer than {@link DnsResponder#MAX_UDP_MESSAGE}
 * bytes is dropped unread past that, and each source gets {@link SourceLimiter#QUERIES_PER_SECOND}
 * answers a second; both are counted.
 */
public final class DnsServer implements Closeable {
    public static final int PORT = 53;
    private static final String NETNS_DIR = "/run/netns";

    private final String namespace;
    /** The namespace's identity when the socket was opened in it: a namespace made again under the name is another. */
    private final Object namespaceInode;
    private final InetSocketAddress address;
    private final DatagramChannel channel;
    private final Thread thread;
    private final Consumer<String> log;
    private final int perSecond;
    private volatile Answers answers;
    private final AtomicLong answered = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();

    private DnsServer(String namespace, Object namespaceInode, InetSocketAddress address, DatagramChannel channel, Answers answers,
                      int perSecond, Consumer<String> log) {
        this.perSecond = perSecond;
        this.namespace = namespace;
        this.namespaceInode = namespaceInode;
        this.address = address;
        this.channel = channel;
        this.answers = answers;
        this.log = log;
        this.thread = Thread.ofPlatform().daemon().name("hp-dns-" + namespace + "-" + address.getAddress().getHostAddress()).unstarted(this::serve);
    }

    /** Binds {@code ip}:53 inside {@code namespace} (the address must be there already) and starts answering. */
    public static DnsServer start(String namespace, String ip, Answers answers, Consumer<String> log) throws IOException {
        return start(namespace, ip, answers, SourceLimiter.QUERIES_PER_SECOND, log);
    }

    /** As {@link #start(String, String, Answers, Consumer)}, answering each source at most {@code perSecond} times a second. */
    static DnsServer start(String namespace, String ip, Answers answers, int perSecond, Consumer<String> log) throws IOException {
        InetSocketAddress address = new InetSocketAddress(Inet4Address.ofLiteral(ip), PORT);
        Object inode = inode(namespace);
        DatagramChannel channel = NetworkNamespace.call(namespace, () -> {
            DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET);
            try {
                return c.bind(address);
            } catch (IOException e) {
                c.close();
                throw new IOException("dns " + ip + ":" + PORT + ": " + e.getMessage(), e);
            }
        });
        DnsServer server = new DnsServer(namespace, inode, address, channel, answers, perSecond, log);
        server.thread.start();
        return server;
    }

    public String namespace() {
        return namespace;
    }

    public String ip() {
        return address.getAddress().getHostAddress();
    }

    /** True while the namespace under its name is still the one the socket was opened in. */
    public boolean current() {
        try {
            return namespaceInode.equals(inode(namespace));
        } catch (IOException e) {
            return false;
        }
    }

    private static Object inode(String namespace) throws IOException {
        return Files.getAttribute(Path.of(NETNS_DIR, namespace), "unix:ino");
    }

    public void update(Answers next) {
        answers = next;
    }

    /** Queries answered, and dropped (too long, over a source's rate, or not a query). */
    public long answered() {
        return answered.get();
    }

    public long dropped() {
        return dropped.get();
    }

    private void serve() {
        // One more byte than a UDP message may have: a datagram that fills it was longer, and is dropped.
        ByteBuffer in = ByteBuffer.allocate(DnsResponder.MAX_UDP_MESSAGE + 1);
        SourceLimiter limiter = new SourceLimiter(perSecond, System.nanoTime());
        while (channel.isOpen()) {
            try {
                in.clear();
                InetSocketAddress from = (InetSocketAddress) channel.receive(in);
                in.flip();
                if (in.remaining() > DnsResponder.MAX_UDP_MESSAGE
                        || !limiter.allow(ByteBuffer.wrap(from.getAddress().getAddress()).getInt(), System.nanoTime())) {
                    dropped.incrementAndGet();
                    continue;
                }
                byte[] query = new byte[in.remaining()];
                in.get(query);
                byte[] response = DnsResponder.respond(answers, query);
                if (response == null) {
                    dropped.incrementAndGet();
                    continue;
                }
                channel.send(ByteBuffer.wrap(response), from);
                answered.incrementAndGet();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException e) {
                // One bad exchange (an unreachable sender, say) ends nothing but itself.
                log.accept("dns " + ip() + " in " + namespace + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            log.accept("dns " + ip() + " in " + namespace + ": close: " + e.getMessage());
        }
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
