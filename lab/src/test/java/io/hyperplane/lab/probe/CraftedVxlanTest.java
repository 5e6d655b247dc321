package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.packet.Checksums;
import io.hyperplane.packet.FrameDecoder;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.Malformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The injection probe's datagram is a well-formed VXLAN frame a receiving VTEP would accept. */
class CraftedVxlanTest {
    @Test
    void shouldBuildAFrameThatDecodesWithValidChecksums() {
        byte[] frame = CraftedVxlan.frame(100001, MacAddress.BROADCAST, Ipv4Address.parse("10.0.1.200"), Ipv4Address.parse("10.0.1.4"),
                7777, "hello".getBytes(StandardCharsets.UTF_8));

        FrameDecoder decoder = new FrameDecoder();
        ByteBuffer buffer = ByteBuffer.wrap(frame);
        assertThat(decoder.decode(buffer, 0, frame.length)).isEqualTo(Malformation.NONE);
        assertThat(decoder.vxlan.vni()).isEqualTo(100001);
        assertThat(decoder.ethernet.destination()).isEqualTo(MacAddress.BROADCAST);
        assertThat(Ipv4Address.format(decoder.ip.source())).isEqualTo("10.0.1.200");
        assertThat(Ipv4Address.format(decoder.ip.destination())).isEqualTo("10.0.1.4");
        assertThat(decoder.ip.hasValidChecksum()).isTrue();
        assertThat(decoder.udp.destinationPort()).isEqualTo(7777);
        assertThat(Checksums.transportValid(decoder.ip, decoder.l4Offset(), decoder.l4Length())).isTrue();
        assertThat(new String(Arrays.copyOfRange(frame, frame.length - 5, frame.length), StandardCharsets.UTF_8)).isEqualTo("hello");
    }

    @Test
    @Timeout(10)
    void shouldSendTheDatagramToEachTargetEachRound() throws Exception {
        try (DatagramSocket receiver = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            receiver.setSoTimeout(5000);
            byte[] frame = CraftedVxlan.frame(1001, MacAddress.BROADCAST, 1, 2, 7, new byte[0]);
            InetSocketAddress target = new InetSocketAddress(InetAddress.getLoopbackAddress(), receiver.getLocalPort());

            ObjectNode result = CraftedVxlan.send(List.of(target, target), frame, 2);

            assertThat(result.path("sent").asInt()).isEqualTo(4);
            for (int i = 0; i < 4; i++) {
                DatagramPacket got = new DatagramPacket(new byte[2048], 2048);
                receiver.receive(got);
                assertThat(Arrays.copyOf(got.getData(), got.getLength())).isEqualTo(frame);
            }
        }
    }
}
