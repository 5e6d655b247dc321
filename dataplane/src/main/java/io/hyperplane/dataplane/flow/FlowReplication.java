package io.hyperplane.dataplane.flow;

/**
 * Where a forwarder reports the changes to its own flows that its fleet backup must see
 * (docs/fleet.md, "Replication"): a new flow, a state change, a refresh of a live flow's
 * deadline (at most once a second per flow), a removal. Called on the forwarding thread, per
 * packet: an implementation records into preallocated space and never blocks.
 */
public interface FlowReplication {
    /** No fleet, or no backup: nothing is copied. */
    FlowReplication OFF = new FlowReplication() {
        @Override
        public void copy(FlowTable flows, int flow, int now) {
        }

        @Override
        public void forget(FlowTable flows, int flow) {
        }
    };

    /** The flow (new, changed or refreshed) as it is now; {@code now} in the forwarder's seconds. */
    void copy(FlowTable flows, int flow, int now);

    /** The flow is about to leave the table. */
    void forget(FlowTable flows, int flow);
}
