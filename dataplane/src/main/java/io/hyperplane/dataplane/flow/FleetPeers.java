package io.hyperplane.dataplane.flow;

import io.hyperplane.dataplane.Forwarder;

import java.nio.ByteBuffer;

/**
 * The other members of a node's fleet, as its forwarder needs them for a packet of a flow that
 * it holds only as another member's copy (docs/fleet.md, "Redirect"). Called on the forwarding
 * thread, per such packet: an implementation never blocks and allocates nothing.
 */
public interface FleetPeers {
    /** No fleet: every copy a packet matches is taken over. */
    FleetPeers NONE = (owner, frame, offset, length, outerSource, out) -> false;

    /**
     * Passes the VXLAN frame at {@code offset} on to member {@code owner} (the index in the plan),
     * with the relay mark and {@code outerSource}, when that member is in service and was heard
     * from lately; false, sending nothing, when it is not, and the caller takes the flow over.
     */
    boolean redirect(int owner, ByteBuffer frame, int offset, int length, int outerSource, Forwarder.PacketSink out);
}
