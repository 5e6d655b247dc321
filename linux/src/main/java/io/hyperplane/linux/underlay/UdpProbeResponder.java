package io.hyperplane.linux.underlay;

import io.hyperplane.linux.netns.NetworkNamespace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Answers {@link LivenessProbe}s on one UDP address inside a network namespace: the socket is
 * opened in the namespace and keeps it, the thread stays in the JVM's (as {@link NetworkNamespace}
 * explains). A stand-alone answerer for tests and for nodes until their forwarding socket answers
 * probes itself; anything that is not a probe is counted and dropped.
 */
public final class UdpProbeResponder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UdpProbeResponder.class);
    /** Room for a padded probe; a longer datagram is cut to this, and a probe among them answered with its first bytes. */
    private static final int RECEIVE_BYTES = 256;

    private final String namespace;
    private final InetSocketAddress address;
    private final DatagramChannel channel;
    private final Thread thread;
    private final AtomicLong answered = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    /** This responder's, new each time one starts (a restarted node's differs). */
    private final int incarnation = LivenessProbe.newIncarnation();

    private UdpProbeResponder(String namespace, InetSocketAddress address, DatagramChannel channel) {
        this.namespace = namespace;
        this.address = address;
        this.channel = channel;
        this.thread = Thread.ofPlatform().daemon().name("hp-probe-answer-" + namespace + "-" + address.getPort()).unstarted(this::serve);
    }

    /** Binds {@code address} inside {@code namespace} (the address must be there already) and starts answering. */
    public static UdpProbeResponder start(String namespace, InetSocketAddress address) throws IOException {
        DatagramChannel channel = NetworkNamespace.call(namespace, () -> {
            DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET);
            try {
                return c.bind(address);
            } catch (IOException e) {
                c.close();
                throw new IOException("probe responder " + address + ": " + e.getMessage(), e);
            }
        });
        UdpProbeResponder responder = new UdpProbeResponder(namespace, address, channel);
        responder.thread.start();
        return responder;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** Probes answered, and datagrams that were not probes. */
    public long answered() {
        return answered.get();
    }

    public long ignored() {
        return ignored.get();
    }

    private void serve() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(RECEIVE_BYTES);
        while (channel.isOpen()) {
            try {
                buffer.clear();
                SocketAddress from = channel.receive(buffer);
                buffer.flip();
                if (!LivenessProbe.isProbe(buffer, 0, buffer.remaining())) {
                    ignored.incrementAndGet();
                    continue;
                }
                LivenessProbe.answerInPlace(buffer, 0, incarnation);
                channel.send(buffer, from);
                answered.incrementAndGet();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // One failed answer (no route back, say) ends nothing but itself; the prober counts the miss.
                LOG.debug("probe responder {} in {}: {}", address, namespace, e.getMessage());
            }
        }
    }

    /** Stops answering: from now on the prober sees this address as silent. */
    @Override
    public void close() throws IOException {
        channel.close();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
