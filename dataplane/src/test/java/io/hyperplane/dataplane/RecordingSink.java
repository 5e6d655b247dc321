package io.hyperplane.dataplane;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** A {@link Forwarder.PacketSink} that keeps a copy of everything sent, for assertions. */
public final class RecordingSink implements Forwarder.PacketSink {
    public record Sent(ByteBuffer bytes, int destinationIp, int destinationPort) {
    }

    public final List<Sent> sent = new ArrayList<>();

    @Override
    public void send(ByteBuffer buffer, int offset, int length, int destinationIp, int destinationPort) {
        ByteBuffer copy = ByteBuffer.allocate(length);
        copy.put(0, buffer, offset, length);
        sent.add(new Sent(copy, destinationIp, destinationPort));
    }

    public Sent only() {
        if (sent.size() != 1) {
            throw new AssertionError("expected exactly one datagram sent, got " + sent.size());
        }
        return take();
    }

    public Sent take() {
        if (sent.isEmpty()) {
            throw new AssertionError("nothing was sent");
        }
        return sent.removeFirst();
    }

    public boolean isEmpty() {
        return sent.isEmpty();
    }
}
