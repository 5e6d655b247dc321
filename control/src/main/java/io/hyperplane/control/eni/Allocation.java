package io.hyperplane.control.eni;

/**
 * What asking for a new ENI gave: the ENI, or which limit refused it. Each model words the
 * refusals as Lambda did in its time (reason codes for shared ENIs, invoke errors for legacy ones).
 */
public sealed interface Allocation {
    record Allocated(String eniId, String ip) implements Allocation {
    }

    /** The VPC already has {@code inVpc} ENIs, the quota. */
    record QuotaReached(long inVpc, int quota) implements Allocation {
    }

    /** The subnet has no free address. */
    record SubnetFull() implements Allocation {
    }

    /** Every ENI MAC of the region is held; {@code detail} says by how many. */
    record MacsExhausted(String detail) implements Allocation {
    }
}
