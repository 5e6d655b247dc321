package io.hyperplane.lab.service;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One accepted TCP connection on the service host's selector. Output that the socket does not
 * take at once is kept and the connection stops reading until it is flushed: a slow reader
 * holds back its own peer, never the other connections.
 */
abstract sealed class TcpConnection implements ServiceHost.Handler permits EchoConnection, HttpConnection {
    final SocketChannel channel;
    final InetSocketAddress peer;
    private SelectionKey key;
    private ByteBuffer pending;
    private boolean closeWhenFlushed;

    TcpConnection(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.peer = (InetSocketAddress) channel.getRemoteAddress();
    }

    void register(SelectionKey key) {
        this.key = key;
    }

    @Override
    public final void ready(SelectionKey selected, ByteBuffer scratch) throws IOException {
        if (selected.isWritable()) {
            flush();
        } else if (selected.isReadable()) {
            scratch.clear();
            int read = channel.read(scratch);
            if (read < 0) {
                closeAfterFlush();
            } else if (read > 0) {
                scratch.flip();
                received(scratch);
            }
        }
    }

    /** Bytes from the peer, valid only during the call. */
    abstract void received(ByteBuffer data) throws IOException;

    final void send(ByteBuffer data) throws IOException {
        if (pending == null) {
            channel.write(data);
            if (data.hasRemaining()) {
                pending = ByteBuffer.allocate(data.remaining()).put(data).flip();
                key.interestOps(SelectionKey.OP_WRITE);
            }
        } else {
            ByteBuffer joined = ByteBuffer.allocate(pending.remaining() + data.remaining());
            pending = joined.put(pending).put(data).flip();
        }
    }

    final void closeAfterFlush() throws IOException {
        if (pending == null) {
            close();
        } else {
            closeWhenFlushed = true;
        }
    }

    final boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public final void close() throws IOException {
        if (key != null) {
            key.cancel();
        }
        channel.close();
    }

    private void flush() throws IOException {
        channel.write(pending);
        if (!pending.hasRemaining()) {
            pending = null;
            if (closeWhenFlushed) {
                close();
            } else {
                key.interestOps(SelectionKey.OP_READ);
            }
        }
    }
}
