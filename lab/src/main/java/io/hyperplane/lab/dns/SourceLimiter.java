package io.hyperplane.lab.dns;

import java.util.HashMap;
import java.util.Map;

/**
 * How many queries each source may send a DNS server per second: a fixed one-second window per
 * source address, over at most {@link #MAX_SOURCES} sources a window. A source past its budget is
 * dropped until the next window; so is a new source once the window holds its maximum (a flood from
 * forged addresses takes no more memory and no more answers). Used by one thread only.
 */
final class SourceLimiter {
    /** What the VPC resolver accepts from one network interface (VPC user guide, "Amazon DNS server": 1024 packets per second). */
    static final int QUERIES_PER_SECOND = 1024;
    /** Sources remembered in one window: more than a lab VPC has interfaces, small enough to be nothing in the heap. */
    static final int MAX_SOURCES = 4096;
    private static final long WINDOW_NANOS = 1_000_000_000L;

    private final int perSecond;
    private final Map<Integer, int[]> counts = new HashMap<>();
    private long windowStart;

    SourceLimiter(int perSecond, long now) {
        this.perSecond = perSecond;
        this.windowStart = now;
    }

    /** True when a query from {@code source} at {@code now} (System.nanoTime) may be answered. */
    boolean allow(int source, long now) {
        if (now - windowStart >= WINDOW_NANOS) {
            counts.clear();
            windowStart = now;
        }
        int[] count = counts.get(source);
        if (count == null) {
            if (counts.size() >= MAX_SOURCES) {
                return false;
            }
            count = new int[1];
            counts.put(source, count);
        }
        return ++count[0] <= perSecond;
    }
}
