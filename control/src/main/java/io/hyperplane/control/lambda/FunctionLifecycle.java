package io.hyperplane.control.lambda;

import java.time.Duration;
import java.time.Instant;

/**
 * Every move a function makes between its {@link FunctionState}s and {@link LastUpdateStatus}es,
 * and the only way to get one: {@link FunctionStore} writes a status only from a
 * {@link Transition} made here, and a move the function's status does not allow throws, naming
 * the status it was in and the one asked for.
 * <pre>
 *   event         from                                      to
 *   create        -                                         Pending (Creating)
 *   activate      Pending, or any State with InProgress     Active, Successful (its network is ready)
 *   fail          Pending                                   Failed (and LastUpdateStatus Failed if InProgress)
 *                 any other State with InProgress           the same State, LastUpdateStatus Failed
 *   startUpdate   Active, Inactive or Failed, not InProgress  the same State, InProgress
 *   idle          Active, not InProgress                    Inactive (Idle)
 *   restore       Inactive                                  Pending (Restoring)
 * </pre>
 * Lambda's reasons and reason codes are set here too, as each move leaves them.
 */
final class FunctionLifecycle {
    private FunctionLifecycle() {
    }

    /** A move checked here: {@code from} is null for the function's creation. */
    static final class Transition {
        private final FunctionStatus from;
        private final FunctionStatus to;

        private Transition(FunctionStatus from, FunctionStatus to) {
            this.from = from;
            this.to = to;
        }

        FunctionStatus from() {
            return from;
        }

        FunctionStatus to() {
            return to;
        }
    }

    /** CreateFunction: Pending until its network is ready (at once when it has no VpcConfig). */
    static Transition create(Instant now) {
        return new Transition(null, new FunctionStatus(FunctionState.PENDING, "The function is being created.", "Creating",
                LastUpdateStatus.SUCCESSFUL, null, null, now));
    }

    /** Its network is ready: the function is Active and its update, if any, Successful. */
    static Transition activate(FunctionStatus from) {
        FunctionStatus to = new FunctionStatus(FunctionState.ACTIVE, null, null, LastUpdateStatus.SUCCESSFUL, null, null, null);
        require(from.settling(), from, to);
        return new Transition(from, to);
    }

    /**
     * Its network could not be set up: a function being created or restored fails; a function
     * being updated keeps its State (and its old network) and the update fails.
     */
    static Transition fail(FunctionStatus from, String code, String reason) {
        if (from.state() == FunctionState.PENDING) {
            return new Transition(from, new FunctionStatus(FunctionState.FAILED, reason, code,
                    from.updating() ? LastUpdateStatus.FAILED : from.lastUpdate(), from.updating() ? reason : from.lastUpdateReason(),
                    from.updating() ? code : from.lastUpdateReasonCode(), null));
        }
        FunctionStatus to = new FunctionStatus(from.state(), from.stateReason(), from.stateReasonCode(), LastUpdateStatus.FAILED, reason, code,
                null);
        require(from.updating(), from, to);
        return new Transition(from, to);
    }

    /** UpdateFunctionConfiguration or UpdateFunctionCode: the new configuration's network is being set up. */
    static Transition startUpdate(FunctionStatus from, Instant now) {
        FunctionStatus to = new FunctionStatus(from.state(), from.stateReason(), from.stateReasonCode(), LastUpdateStatus.IN_PROGRESS,
                "The function is being updated.", null, now);
        require(!from.settling(), from, to);
        return new Transition(from, to);
    }

    /** Not invoked for {@code idleAfter}: the function lets go of its ENIs. */
    static Transition idle(FunctionStatus from, Duration idleAfter) {
        FunctionStatus to = new FunctionStatus(FunctionState.INACTIVE, "The function is inactive because it has not been invoked for "
                + idleAfter.toSeconds() + " s.", "Idle", from.lastUpdate(), from.lastUpdateReason(),
                from.lastUpdateReasonCode(), from.pendingSince());
        require(canIdle(from), from, to);
        return new Transition(from, to);
    }

    /** Whether a function in this status may go Inactive: it is Active, and no update is under way. */
    static boolean canIdle(FunctionStatus status) {
        return status.state() == FunctionState.ACTIVE && !status.updating();
    }

    /** The first invoke attempt of an Inactive function: its network is set up again. */
    static Transition restore(FunctionStatus from, Instant now) {
        FunctionStatus to = new FunctionStatus(FunctionState.PENDING, "The function is being restored.", "Restoring", from.lastUpdate(),
                from.lastUpdateReason(), from.lastUpdateReasonCode(), now);
        require(from.state() == FunctionState.INACTIVE, from, to);
        return new Transition(from, to);
    }

    private static void require(boolean allowed, FunctionStatus from, FunctionStatus to) {
        if (!allowed) {
            throw new IllegalStateException("function state " + from + " -> " + to + ": not a transition");
        }
    }
}
