package io.hyperplane.lab.fabric;

import io.hyperplane.linux.netns.NetworkNamespace;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;

/** A one-question DNS client whose socket lives in a namespace of the test's choosing. */
public final class DnsClient {
    /** What came back: the answer code and the first A record's address (null for none); {@code answered} false on a timeout. */
    public record Reply(boolean answered, int rcode, String address) {
    }

    private DnsClient() {
    }

    public static Reply ask(String namespace, String server, String name, Duration timeout) throws IOException {
        try (DatagramChannel channel = NetworkNamespace.call(namespace, () -> DatagramChannel.open(StandardProtocolFamily.INET).bind(null));
             Selector selector = Selector.open()) {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 65536);
            channel.configureBlocking(false);
            channel.register(selector, SelectionKey.OP_READ);
            Message query = Message.newQuery(Record.newRecord(Name.fromString(name.endsWith(".") ? name : name + "."), Type.A, DClass.IN));
            channel.send(ByteBuffer.wrap(query.toWire()), new InetSocketAddress(server, 53));
            if (selector.select(timeout.toMillis()) == 0) {
                return new Reply(false, -1, null);
            }
            ByteBuffer in = ByteBuffer.allocate(4096);
            channel.receive(in);
            in.flip();
            byte[] bytes = new byte[in.remaining()];
            in.get(bytes);
            Message response = new Message(bytes);
            String address = response.getSection(Section.ANSWER).stream().filter(r -> r.getType() == Type.A)
                    .map(r -> r.rdataToString()).findFirst().orElse(null);
            return new Reply(true, response.getRcode(), address);
        }
    }
}
