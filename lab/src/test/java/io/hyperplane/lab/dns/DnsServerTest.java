package io.hyperplane.lab.dns;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;

import static org.assertj.core.api.Assertions.assertThat;

/** A DNS server in a namespace of the test's (root): one source past its rate, another still answered. */
class DnsServerTest {
    private static final String NS = "hp-dnst-server";
    private static final int PER_SECOND = 10;
    private static final InetSocketAddress SERVER = new InetSocketAddress("127.0.0.53", DnsServer.PORT);

    @Test
    @Timeout(60)
    void shouldAnswerEveryoneElseWhileOneSourceFloodsIt() throws Exception {
        Namespaces.add(NS);
        try {
            Commands.check(Namespaces.ipIn(NS, "link", "set", "lo", "up"));
            try (DnsServer server = DnsServer.start(NS, SERVER.getAddress().getHostAddress(), Zones.serviceResolver(), PER_SECOND, line -> { });
                 DatagramChannel flooder = client("127.0.0.2");
                 DatagramChannel neighbour = client("127.0.0.3")) {
                int answered = 0;
                while (ask(flooder)) {
                    answered++;
                }
                assertThat(answered).isGreaterThanOrEqualTo(PER_SECOND);
                assertThat(ask(neighbour)).isTrue();
                flooder.send(ByteBuffer.wrap(new byte[DnsResponder.MAX_UDP_MESSAGE + 100]), SERVER); // too long: dropped unread
                assertThat(server.dropped()).isPositive();
            }
        } finally {
            Namespaces.delete(NS);
        }
    }

    private static DatagramChannel client(String ip) throws Exception {
        DatagramChannel channel = NetworkNamespace.call(NS, () -> DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(ip, 0)));
        channel.configureBlocking(false);
        return channel;
    }

    /** One question; true when answered within half a second. */
    private static boolean ask(DatagramChannel channel) throws Exception {
        byte[] query = Message.newQuery(Record.newRecord(Name.fromString(Internet.WHOAMI_NAME + "."), Type.A, DClass.IN)).toWire();
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            channel.send(ByteBuffer.wrap(query), SERVER);
            if (selector.select(500) == 0) {
                return false;
            }
            ByteBuffer in = ByteBuffer.allocate(DnsResponder.MAX_UDP_MESSAGE);
            channel.receive(in);
            return true;
        }
    }
}
