package io.hyperplane.lab.service;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** TCP echo (RFC 862): every byte goes back; the connection lasts until the peer closes it. */
final class EchoConnection extends TcpConnection {
    EchoConnection(SocketChannel channel) throws IOException {
        super(channel);
    }

    @Override
    void received(ByteBuffer data) throws IOException {
        send(data);
    }
}
