package io.hyperplane.packet;

import java.nio.ByteBuffer;

/**
 * Base of every header view: a buffer and an offset, re-pointed per packet with {@link #wrap},
 * never allocated per packet. Accessors do not check lengths; {@link FrameDecoder} does that once.
 */
public abstract class Flyweight<T extends Flyweight<T>> {
    protected ByteBuffer buffer;
    protected int offset;

    @SuppressWarnings("unchecked")
    public T wrap(ByteBuffer buffer, int offset) {
        this.buffer = buffer;
        this.offset = offset;
        return (T) this;
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    public int offset() {
        return offset;
    }
}
