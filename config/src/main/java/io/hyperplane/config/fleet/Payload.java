package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Arrays;

/**
 * An invocation's event or a function's answer: bytes, base64 on the wire (a function may answer
 * with anything). The array is not copied: a payload is up to 6 MB (Lambda's synchronous limit)
 * and is handed over once; whoever makes one gives up its array, and nobody changes one read.
 */
public record Payload(byte[] bytes) {
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public Payload {
        Check.present(bytes, "payload", "bytes");
    }

    @Override
    @JsonValue
    public byte[] bytes() {
        return bytes;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Payload other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "Payload[" + bytes.length + " bytes]";
    }
}
