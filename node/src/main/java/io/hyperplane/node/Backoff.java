package io.hyperplane.node;

/**
 * Pauses between attempts to reach the control plane while it fails: 200 ms doubling to 2 s, so
 * a restarting control plane is found again within 2 s, while a long outage costs one request per
 * thread every 2 s. A success starts over from 200 ms. One per retrying thread; not thread-safe.
 */
final class Backoff {
    static final long FIRST_MILLIS = 200;
    static final long MAX_MILLIS = 2_000;

    private long next = FIRST_MILLIS;

    /** The pause before the next attempt, doubling each call up to {@link #MAX_MILLIS}. */
    long nextMillis() {
        long pause = next;
        next = Math.min(next * 2, MAX_MILLIS);
        return pause;
    }

    void reset() {
        next = FIRST_MILLIS;
    }
}
