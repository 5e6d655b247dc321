package io.hyperplane.control.eni;

/**
 * Where a network interface is in its life ({@code network_interfaces.status}); {@link EniLifecycle}
 * owns the moves between them. Whether anything uses an ENI is not a state but a clock beside it
 * ({@code unused_since}): an ENI in either state may stop being used and be used again.
 */
public enum EniState {
    /** Its address is taken and it is being programmed into the forwarder nodes (shared ENIs only). */
    CREATING("creating"),
    /** Every live node has it (shared), or its environment has it (legacy). */
    IN_USE("in-use"),
    /** Its row, groups and tags are gone and its MAC is back in the pool: never stored. */
    DELETED("deleted");

    private final String stored;

    EniState(String stored) {
        this.stored = stored;
    }

    /** The value of {@code network_interfaces.status}. */
    public String stored() {
        return stored;
    }

    public static EniState ofStored(String status) {
        for (EniState s : values()) {
            if (s != DELETED && s.stored.equals(status)) {
                return s;
            }
        }
        throw new IllegalArgumentException("ENI status '" + status + "': not a stored state");
    }

    /**
     * The status EC2's DescribeNetworkInterfaces shows: available while nothing uses it (it waits
     * to be deleted), attaching while it is being programmed, in-use otherwise.
     */
    public String ec2Status(boolean unused) {
        return unused ? "available" : this == CREATING ? "attaching" : "in-use";
    }

    @Override
    public String toString() {
        return stored;
    }
}
