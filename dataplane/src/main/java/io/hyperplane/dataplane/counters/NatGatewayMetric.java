package io.hyperplane.dataplane.counters;

/**
 * What a node counts per NAT gateway, named as CloudWatch names the NAT gateway's metrics (VPC
 * user guide, "CloudWatch metrics for your NAT gateway"). Stable ids: the counters file keys on
 * them. Bytes are IP bytes (header included), as the packets and bytes metrics count them.
 * <ul>
 *   <li>ActiveConnectionCount: open TCP connections now (a gauge; TIME_WAIT and closed ones are not open).</li>
 *   <li>ConnectionAttemptCount: new flows opened, TCP by a SYN, UDP and ICMP echo by their first packet.</li>
 *   <li>ConnectionEstablishedCount: flows answered: TCP reaching ESTABLISHED, UDP on its first reply,
 *       so that attempts minus established is the connections nobody answered.</li>
 *   <li>ErrorPortAllocation: new flows refused for want of a port (the per-destination limit).</li>
 *   <li>IdleTimeoutCount: flows that expired while established or replied, not closed by FIN or RST.</li>
 * </ul>
 */
public enum NatGatewayMetric {
    ACTIVE_CONNECTION_COUNT(0, "ActiveConnectionCount"),
    CONNECTION_ATTEMPT_COUNT(1, "ConnectionAttemptCount"),
    CONNECTION_ESTABLISHED_COUNT(2, "ConnectionEstablishedCount"),
    ERROR_PORT_ALLOCATION(3, "ErrorPortAllocation"),
    IDLE_TIMEOUT_COUNT(4, "IdleTimeoutCount"),
    PACKETS_IN_FROM_SOURCE(5, "PacketsInFromSource"),
    PACKETS_OUT_TO_DESTINATION(6, "PacketsOutToDestination"),
    PACKETS_IN_FROM_DESTINATION(7, "PacketsInFromDestination"),
    PACKETS_OUT_TO_SOURCE(8, "PacketsOutToSource"),
    BYTES_IN_FROM_SOURCE(9, "BytesInFromSource"),
    BYTES_OUT_TO_DESTINATION(10, "BytesOutToDestination"),
    BYTES_IN_FROM_DESTINATION(11, "BytesInFromDestination"),
    BYTES_OUT_TO_SOURCE(12, "BytesOutToSource"),
    PACKETS_DROP_COUNT(13, "PacketsDropCount");

    /** By id; the ids are 0..n-1 in declaration order, which the static check below enforces. */
    public static final NatGatewayMetric[] VALUES = values();

    static {
        for (int i = 0; i < VALUES.length; i++) {
            if (VALUES[i].id != i) {
                throw new ExceptionInInitializerError("NAT gateway metric " + VALUES[i] + ": id " + VALUES[i].id + " out of order");
            }
        }
    }

    private final int id;
    private final String label;

    NatGatewayMetric(int id, String label) {
        this.id = id;
        this.label = label;
    }

    public int id() {
        return id;
    }

    /** CloudWatch's metric name. */
    public String label() {
        return label;
    }
}
