package io.hyperplane.worker;

/**
 * An execution environment's lifecycle. {@link EnvironmentPool} holds each environment's state and
 * changes it only through {@link #moveTo}, the one place that knows which transitions exist:
 *
 * <pre>
 *  STARTING --started--&gt; BUSY --released, reusable--&gt; IDLE --taken--&gt; BUSY
 *     |                    |                             |
 *     +--failed------------+--fatal, evicted, closing----+--reaped, dead, evicted, closing--&gt; DESTROYED
 * </pre>
 *
 * A cold start's environment is busy from the start (it runs the invocation that made it); an idle
 * one is either taken or destroyed, and nothing comes back from DESTROYED.
 */
enum EnvironmentState {
    /** A cold start is making it. */
    STARTING,
    /** Running an invocation (one at a time). */
    BUSY,
    /** Warm, waiting in the pool for an invocation of the same function version. */
    IDLE,
    /** Torn down, or never made: its process, network and uid are gone or going. */
    DESTROYED;

    /**
     * {@code next}, when this state may become it.
     *
     * @throws IllegalStateException naming both states when it may not
     */
    EnvironmentState moveTo(EnvironmentState next) {
        boolean allowed = switch (this) {
            case STARTING -> next == BUSY || next == DESTROYED;
            case BUSY -> next == IDLE || next == DESTROYED;
            case IDLE -> next == BUSY || next == DESTROYED;
            case DESTROYED -> false;
        };
        if (!allowed) {
            throw new IllegalStateException("execution environment: no transition from " + this + " to " + next);
        }
        return next;
    }
}
