package io.hyperplane.control.lambda;

import java.time.Instant;
import java.util.Objects;

/**
 * Where a function is in its lifecycle: State and LastUpdateStatus with their reasons, and since
 * when its network has been in the making ({@code pendingSince}, null when nothing is: the clock
 * of the programming timeout).
 */
record FunctionStatus(FunctionState state, String stateReason, String stateReasonCode, LastUpdateStatus lastUpdate,
                      String lastUpdateReason, String lastUpdateReasonCode, Instant pendingSince) {
    FunctionStatus {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(lastUpdate, "lastUpdate");
    }

    boolean updating() {
        return lastUpdate == LastUpdateStatus.IN_PROGRESS;
    }

    /** Its network is in the making: Pending (created or restoring), or an update InProgress. */
    boolean settling() {
        return state == FunctionState.PENDING || updating();
    }

    @Override
    public String toString() {
        return state + " (LastUpdateStatus " + lastUpdate + ")";
    }
}
