package io.hyperplane.control.lambda;

/**
 * The status of a function's last configuration or code update, as Lambda names it and as
 * {@code functions.last_update_status} stores it; {@link FunctionLifecycle} owns the moves.
 */
enum LastUpdateStatus {
    SUCCESSFUL("Successful"),
    /** The new configuration's network is being set up; the old one stays in force meanwhile. */
    IN_PROGRESS("InProgress"),
    /** The new configuration's network could not be set up; the old one stays in force. */
    FAILED("Failed");

    private final String wire;

    LastUpdateStatus(String wire) {
        this.wire = wire;
    }

    String wire() {
        return wire;
    }

    static LastUpdateStatus ofWire(String status) {
        for (LastUpdateStatus s : values()) {
            if (s.wire.equals(status)) {
                return s;
            }
        }
        throw new IllegalArgumentException("last update status '" + status + "': not one of Lambda's");
    }

    @Override
    public String toString() {
        return wire;
    }
}
