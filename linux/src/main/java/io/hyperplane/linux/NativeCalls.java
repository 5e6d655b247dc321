package io.hyperplane.linux;

/** What the FFM downcalls of this project share. */
public final class NativeCalls {
    private NativeCalls() {
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
