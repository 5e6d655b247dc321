package io.hyperplane.packet;

import java.nio.ByteBuffer;

/**
 * Absolute accessors the flyweights share. Buffers must be in network byte order, which is
 * {@link ByteBuffer}'s default ({@link java.nio.ByteOrder#BIG_ENDIAN}); nothing here changes it.
 */
final class Bytes {
    private Bytes() {
    }

    static int u8(ByteBuffer b, int at) {
        return b.get(at) & 0xff;
    }

    static int u16(ByteBuffer b, int at) {
        return b.getShort(at) & 0xffff;
    }

    static void u16(ByteBuffer b, int at, int v) {
        b.putShort(at, (short) v);
    }

    static int i32(ByteBuffer b, int at) {
        return b.getInt(at);
    }

    static void i32(ByteBuffer b, int at, int v) {
        b.putInt(at, v);
    }

    static long u48(ByteBuffer b, int at) {
        return ((long) u16(b, at) << 32) | (b.getInt(at + 2) & 0xffff_ffffL);
    }

    static void u48(ByteBuffer b, int at, long v) {
        b.putShort(at, (short) (v >>> 32));
        b.putInt(at + 2, (int) v);
    }
}
