package io.hyperplane.linux;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/** libc's strerror(3) for error messages (error paths only: it allocates). */
public final class Strerror {
    /** char *strerror(int errno) */
    private static final MethodHandle STRERROR = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("strerror"), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    /** strerror returns a NUL-terminated string of unknown length; messages are short. */
    private static final long MAX_MESSAGE_LENGTH = 256;

    private Strerror() {
    }

    public static String of(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            if (text.equals(MemorySegment.NULL)) {
                return "Unknown error";
            }
            MemorySegment bounded = text.reinterpret(MAX_MESSAGE_LENGTH);
            long end = 0;
            while (end < MAX_MESSAGE_LENGTH && bounded.get(ValueLayout.JAVA_BYTE, end) != 0) {
                end++;
            }
            return new String(bounded.asSlice(0, end).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        } catch (Throwable t) {
            return "Unknown error";
        }
    }
}
