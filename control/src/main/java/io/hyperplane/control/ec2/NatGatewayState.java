package io.hyperplane.control.ec2;

import java.util.Set;

/**
 * Where a NAT gateway is in its life ({@code nat_gateways.state}), with EC2's names: pending until
 * every live forwarder node runs a configuration version that has it, available, deleting until a
 * version without it is applied, deleted; failed when it cannot be made (its failure code says
 * why). Every move is checked here. A gateway holds its private address and MAC while pending,
 * available or deleting, and its Elastic IP's association while pending or available.
 */
public enum NatGatewayState {
    PENDING("pending"),
    AVAILABLE("available"),
    DELETING("deleting"),
    DELETED("deleted"),
    FAILED("failed");

    private final String stored;

    NatGatewayState(String stored) {
        this.stored = stored;
    }

    /** The value of {@code nat_gateways.state}, and what DescribeNatGateways shows. */
    public String stored() {
        return stored;
    }

    public static NatGatewayState ofStored(String state) {
        for (NatGatewayState s : values()) {
            if (s.stored.equals(state)) {
                return s;
            }
        }
        throw new IllegalArgumentException("NAT gateway state '" + state + "': not a state");
    }

    /** Whether the data plane carries it: what nodes are sent, and routes to it not blackholes (when available). */
    public boolean published() {
        return this == PENDING || this == AVAILABLE;
    }

    /** Gone for good: shown for an hour after, then forgotten (EC2 user guide, "NAT gateway basics"). */
    public boolean gone() {
        return this == DELETED || this == FAILED;
    }

    private Set<NatGatewayState> next() {
        return switch (this) {
            case PENDING -> Set.of(AVAILABLE, DELETING, FAILED);
            case AVAILABLE -> Set.of(DELETING);
            case DELETING -> Set.of(DELETED);
            case FAILED -> Set.of(DELETED);
            case DELETED -> Set.of();
        };
    }

    /** {@code to}, or an IllegalStateException naming both states. */
    public NatGatewayState moveTo(NatGatewayState to, String id) {
        if (!next().contains(to)) {
            throw new IllegalStateException("NAT gateway " + id + ": cannot move from " + stored + " to " + to.stored);
        }
        return to;
    }

    @Override
    public String toString() {
        return stored;
    }
}
