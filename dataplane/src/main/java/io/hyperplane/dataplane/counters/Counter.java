package io.hyperplane.dataplane.counters;

/**
 * The node's counters: stable ids (never renumber: files and dashboards key on them) and labels
 * as shown by {@code hyperplane stat} and metrics. Drop reasons are DESIGN.md §3's list plus the
 * few the implementation adds. In the spirit of Aeron's {@code SystemCounterDescriptor}.
 */
public enum Counter {
    RECEIVED(0, "packets-received"),
    FORWARDED(1, "forwarded"),
    FORWARDED_TO_VPC(2, "forwarded-to-vpc"),
    FORWARDED_TO_EE(3, "forwarded-to-ee"),
    ARP_REPLIES_SENT(4, "arp-replies-sent"),
    ARP_REQUESTS_SENT(5, "arp-requests-sent"),
    ARP_ENTRIES_LEARNED(6, "arp-entries-learned"),
    FLOWS_ACTIVE(7, "flows"),
    FLOWS_CREATED(8, "flows-created"),
    FLOWS_EXPIRED(9, "flows-expired"),
    DROP_MALFORMED(10, "drop-malformed"),
    DROP_UNKNOWN_VNI(11, "drop-unknown-vni"),
    DROP_SPOOF(12, "drop-spoof"),
    DROP_SG_DENY(13, "drop-sg-deny"),
    DROP_NACL_DENY(14, "drop-nacl-deny"),
    DROP_NO_ROUTE(15, "drop-no-route"),
    DROP_NO_FLOW(16, "drop-no-flow"),
    DROP_PORT_EXHAUSTION(17, "drop-port-exhaustion"),
    DROP_FLOW_TABLE_FULL(18, "drop-flow-table-full"),
    DROP_UNSUPPORTED_PROTOCOL(19, "drop-unsupported-protocol"),
    DROP_TTL_EXCEEDED(20, "drop-ttl-exceeded"),
    DROP_ARP_UNRESOLVED(21, "drop-arp-unresolved"),
    DROP_ARP_IGNORED(22, "drop-arp-ignored"),
    DROP_IO_TRUNCATED(23, "drop-io-truncated"),
    DROP_IO_SEND(24, "drop-io-send"),
    CONFIG_VERSION(25, "config-version"),
    CONFIG_APPLIED(26, "config-applied"),
    CONFIG_REJECTED(27, "config-rejected"),
    NAT_PORTS_STOLEN(28, "nat-ports-reclaimed"),
    ALLOCATED_BYTES_FORWARDING_THREAD(29, "forwarding-thread-allocated-bytes"),
    GSO_SEGMENTS(30, "gso-segments-coalesced"),
    DROP_SOCKET_OVERFLOW(31, "drop-socket-overflow"),
    /** A new flow past its ENI's or its execution environment's quota of open flows. */
    DROP_FLOW_QUOTA(32, "drop-flow-quota"),
    /** An EE addressed the underlay or the EE range, whatever a route table says. */
    DROP_RESERVED_DESTINATION(33, "drop-reserved-destination"),
    /** A neighbor not learned: the table, or its subnet's share of it, was full. */
    ARP_LEARN_REFUSED(34, "arp-learn-refused"),
    ARP_ENTRIES_EXPIRED(35, "arp-entries-expired"),
    /** ARP answers thread 0 (which the kernel gives every ARP frame) copied to another thread's ring. */
    HANDED_OFF(36, "handed-off"),
    /** ARP answers taken from this thread's ring and processed as if received. */
    HANDED_IN(37, "handed-in"),
    /** ARP answers not handed to a thread whose ring was full; that thread asks again. */
    DROP_HAND_OFF_FULL(38, "drop-hand-off-full"),
    /** ARP replies from outside the fleet copied to another member (ECMP may bring the answer to a node that did not ask). */
    ARP_RELAYED(39, "arp-relayed"),
    /** ARP replies another member relayed here, processed as if received from their sender. */
    ARP_RELAYED_IN(40, "arp-relayed-in"),
    /** Flows held as copies of another member's (its backup's share): a gauge. */
    REPLICAS(41, "replicas"),
    /** Copies turned into this node's own flows by a packet of theirs (their owner died). */
    REPLICA_PROMOTIONS(42, "replica-promotions"),
    /** Flow records sent to the backup, resends included. */
    REPLICATION_SENT(43, "replication-records-sent"),
    /** Flow records received from members this node backs up and applied. */
    REPLICATION_RECEIVED(44, "replication-records-received"),
    /** Flow records the backup acknowledged. */
    REPLICATION_ACKED(45, "replication-records-acked"),
    /** Flow records sent again after no acknowledgement came in time. */
    REPLICATION_RESENT(46, "replication-records-resent"),
    /** Bytes of replication datagrams (records and acknowledgements) sent, UDP payload. */
    REPLICATION_BYTES(47, "replication-bytes-sent"),
    /** Age of the oldest unacknowledged record, milliseconds: a gauge. */
    REPLICATION_LAG_MS(48, "replication-lag-ms"),
    /** New flows forwarded without their copy acknowledged: backup silent, outbox or hold queue full. */
    REPLICATION_UNPROTECTED(49, "replication-unprotected"),
    /** First packets held until the backup acknowledged their flow's copy. */
    REPLICATION_HELD(50, "replication-held"),
    /** Record datagrams that arrived past a gap (or from an unknown sender) and were left for the resend. */
    REPLICATION_OUT_OF_ORDER(51, "replication-out-of-order"),
    /** Times the backup acknowledged as another process (it restarted in place): every flow was copied to it again. */
    REPLICATION_BACKUP_RESTARTS(52, "replication-backup-restarts"),
    /** Packets of another member's flow (a copy here, its NAT port in that member's blocks) passed on to that member. */
    REDIRECTED_TO_OWNER(53, "redirected-to-owner"),
    /** Packets another member passed on here because this node owns their flow. */
    REDIRECTED_IN(54, "redirected-in");

    private static final Counter[] BY_ID;

    static {
        int max = 0;
        for (Counter c : values()) {
            max = Math.max(max, c.id);
        }
        BY_ID = new Counter[max + 1];
        for (Counter c : values()) {
            if (BY_ID[c.id] != null) {
                throw new ExceptionInInitializerError("counter id " + c.id + " used twice");
            }
            BY_ID[c.id] = c;
        }
    }

    private final int id;
    private final String label;

    Counter(int id, String label) {
        this.id = id;
        this.label = label;
    }

    public int id() {
        return id;
    }

    public String label() {
        return label;
    }

    /** The counter with this id, or null for an id this build does not know. */
    public static Counter byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    public static int maxId() {
        return BY_ID.length - 1;
    }
}
