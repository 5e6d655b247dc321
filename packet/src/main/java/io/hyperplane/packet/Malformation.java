package io.hyperplane.packet;

/**
 * Why {@link FrameDecoder} rejected a frame. Rejection is a return value, never an exception, so
 * a forwarding loop can count it and move on. {@link #NONE} means the frame is well formed.
 */
public enum Malformation {
    NONE("ok"),
    TRUNCATED_VXLAN("shorter than a VXLAN header and an Ethernet header"),
    VXLAN_FLAGS("VXLAN I flag not set (RFC 7348 §5)"),
    IPV6("IPv6 is not forwarded"),
    UNSUPPORTED_ETHERTYPE("EtherType other than IPv4 or ARP"),
    TRUNCATED_ARP("ARP shorter than 28 bytes"),
    BAD_ARP("ARP not IPv4 over Ethernet"),
    TRUNCATED_IPV4("IPv4 header cut short"),
    BAD_IP_VERSION("IP version field is not 4"),
    BAD_IHL("IPv4 header length below 20 bytes"),
    BAD_TOTAL_LENGTH("IPv4 total length shorter than its header or longer than the frame"),
    BAD_IP_CHECKSUM("IPv4 header checksum mismatch"),
    FRAGMENT("IPv4 fragment (not reassembled)"),
    TRUNCATED_L4("transport header cut short"),
    BAD_TCP_OFFSET("TCP data offset below 20 or past the segment"),
    BAD_UDP_LENGTH("UDP length below 8 or past the datagram"),
    BAD_EMBEDDED("ICMP error without a complete embedded IPv4 header and 8 payload bytes");

    /** All values, shared: {@code values()} allocates a copy on every call. */
    public static final Malformation[] VALUES = values();

    private final String description;

    Malformation(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
