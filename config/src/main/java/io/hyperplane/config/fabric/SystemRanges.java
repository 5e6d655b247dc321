package io.hyperplane.config.fabric;

import io.hyperplane.packet.Ipv4Cidr;

import java.util.List;
import java.util.Optional;

/**
 * The system's own address ranges. No tenant network may use them or reach them (DESIGN.md §9):
 * the control plane refuses VPC and subnet blocks that overlap them, and every VPC router drops
 * what its subnets send toward them.
 */
public final class SystemRanges {
    /**
     * The underlay (RFC 2544's benchmarking range, never routed on the internet): forwarder nodes
     * and worker hosts in the lower half, VPC routers' VTEPs in the upper.
     */
    public static final Ipv4Cidr UNDERLAY = Ipv4Cidr.parse("198.18.0.0/15");
    /** Execution environments' addresses (RFC 6598's shared address space), seen only by the forwarder nodes. */
    public static final Ipv4Cidr EXECUTION_ENVIRONMENTS = Ipv4Cidr.parse("100.64.0.0/10");
    public static final List<Ipv4Cidr> ALL = List.of(UNDERLAY, EXECUTION_ENVIRONMENTS);

    private SystemRanges() {
    }

    /** The system range {@code cidr} overlaps, if any. */
    public static Optional<Ipv4Cidr> overlapping(Ipv4Cidr cidr) {
        return ALL.stream().filter(cidr::overlaps).findFirst();
    }
}
