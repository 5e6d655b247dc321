package io.hyperplane.linux;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * What the FFM downcalls of this project share: libc's handles, errno as a capturing call leaves
 * it, and the message a failed call throws. Linking is a restricted operation: the JVM must run
 * with {@code --enable-native-access=ALL-UNNAMED}.
 */
public final class NativeCalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    /** Bytes of the segment a capturing call writes errno into (its first argument). */
    public static final long ERRNO_STATE_SIZE = Linker.Option.captureStateLayout().byteSize();
    private static final long ERRNO_OFFSET = Linker.Option.captureStateLayout().byteOffset(MemoryLayout.PathElement.groupElement("errno"));

    private NativeCalls() {
    }

    /** A libc function that captures errno into a state segment passed as its first argument: setup and error paths. */
    @SuppressWarnings("restricted")
    public static MethodHandle libcCapturingErrno(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LIBC.findOrThrow(name), descriptor, CAPTURE_ERRNO);
    }

    /** A libc function that captures nothing: for hot calls, where the capture is not always optimised away. */
    @SuppressWarnings("restricted")
    public static MethodHandle libc(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LIBC.findOrThrow(name), descriptor);
    }

    /** errno as the last capturing call left it in {@code state} (a segment of {@link #ERRNO_STATE_SIZE} bytes). */
    public static int errno(MemorySegment state) {
        return state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
    }

    /** {@code "<what>: <strerror> (errno N)"}, the text a C program would print with perror. */
    public static IOException failure(String what, int errno) {
        return new IOException(what + ": " + Strerror.of(errno) + " (errno " + errno + ")");
    }

    /**
     * Downcall handles declare Throwable but only throw unchecked exceptions (a wrong call type, a
     * closed arena): rethrow those as they are, wrap anything else.
     */
    public static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("native call failed", t);
    }
}
