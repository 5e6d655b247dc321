package io.hyperplane.control.lambda;

/**
 * A function's State, as Lambda names it in FunctionConfiguration and as {@code functions.state}
 * stores it; {@link FunctionLifecycle} owns the moves between them.
 */
enum FunctionState {
    /** Being created, or restored after idling: its network is being set up; invokes are refused. */
    PENDING("Pending"),
    /** Its network is ready: invokes run. */
    ACTIVE("Active"),
    /** Idle for the idle period: its ENIs were released; the next invoke attempt restores it. */
    INACTIVE("Inactive"),
    /** Its network could not be set up; StateReasonCode says why. */
    FAILED("Failed");

    private final String wire;

    FunctionState(String wire) {
        this.wire = wire;
    }

    /** The name in Lambda's API and in the store. */
    String wire() {
        return wire;
    }

    static FunctionState ofWire(String state) {
        for (FunctionState s : values()) {
            if (s.wire.equals(state)) {
                return s;
            }
        }
        throw new IllegalArgumentException("function state '" + state + "': not one of Lambda's");
    }

    @Override
    public String toString() {
        return wire;
    }
}
