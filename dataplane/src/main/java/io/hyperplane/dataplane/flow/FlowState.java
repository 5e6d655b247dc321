package io.hyperplane.dataplane.flow;

import io.hyperplane.packet.TcpHeader;

/**
 * Connection-tracking states, one byte per flow, and the single place their transitions live.
 * <pre>
 *  TCP:  SYN_SENT --SYN+ACK from VPC--> ESTABLISHED --FIN one side--> FIN_FROM_EE / FIN_FROM_VPC
 *            |                               |                              |
 *            +------------- RST either way --+-------> CLOSED    FIN other side --> TIME_WAIT
 *        TIME_WAIT / CLOSED --pure SYN from EE--> SYN_SENT (the tuple is reused for a new connection)
 *  UDP:  UDP_UNREPLIED --packet from VPC--> UDP_REPLIED
 *  ICMP: ICMP (echo request seen; replies refresh it)
 * </pre>
 */
public final class FlowState {
    public static final byte TCP_SYN_SENT = 1;
    public static final byte TCP_ESTABLISHED = 2;
    public static final byte TCP_FIN_FROM_EE = 3;
    public static final byte TCP_FIN_FROM_VPC = 4;
    public static final byte TCP_TIME_WAIT = 5;
    public static final byte TCP_CLOSED = 6;
    public static final byte UDP_UNREPLIED = 7;
    public static final byte UDP_REPLIED = 8;
    public static final byte ICMP = 9;

    private FlowState() {
    }

    /** The TCP state after a segment with {@code flags} travelling in the given direction. */
    public static byte tcp(byte state, int flags, boolean fromEe) {
        if ((flags & TcpHeader.RST) != 0) {
            return TCP_CLOSED;
        }
        boolean fin = (flags & TcpHeader.FIN) != 0;
        return switch (state) {
            case TCP_SYN_SENT -> !fromEe && (flags & (TcpHeader.SYN | TcpHeader.ACK)) == (TcpHeader.SYN | TcpHeader.ACK)
                    ? TCP_ESTABLISHED : TCP_SYN_SENT;
            case TCP_ESTABLISHED -> fin ? (fromEe ? TCP_FIN_FROM_EE : TCP_FIN_FROM_VPC) : TCP_ESTABLISHED;
            case TCP_FIN_FROM_EE -> fin && !fromEe ? TCP_TIME_WAIT : TCP_FIN_FROM_EE;
            case TCP_FIN_FROM_VPC -> fin && fromEe ? TCP_TIME_WAIT : TCP_FIN_FROM_VPC;
            default -> state;
        };
    }

    /** A flow in this state may give up its NAT port to a new flow: the connection is over. */
    public static boolean isReclaimable(byte state) {
        return state == TCP_TIME_WAIT || state == TCP_CLOSED;
    }

    /** A pure SYN (no ACK): the only segment that may open a TCP flow. */
    public static boolean isOpeningSyn(int flags) {
        return (flags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN;
    }

    public static int timeoutSeconds(byte state, FlowTimeouts t) {
        return switch (state) {
            case TCP_SYN_SENT -> t.tcpSynSent();
            case TCP_ESTABLISHED -> t.tcpEstablished();
            case TCP_FIN_FROM_EE, TCP_FIN_FROM_VPC -> t.tcpClosing();
            case TCP_TIME_WAIT -> t.tcpTimeWait();
            case TCP_CLOSED -> t.tcpClosed();
            case UDP_UNREPLIED -> t.udpUnreplied();
            case UDP_REPLIED -> t.udpReplied();
            default -> t.icmp();
        };
    }

    public static String name(byte state) {
        return switch (state) {
            case TCP_SYN_SENT -> "tcp-syn-sent";
            case TCP_ESTABLISHED -> "tcp-established";
            case TCP_FIN_FROM_EE -> "tcp-fin-from-ee";
            case TCP_FIN_FROM_VPC -> "tcp-fin-from-vpc";
            case TCP_TIME_WAIT -> "tcp-time-wait";
            case TCP_CLOSED -> "tcp-closed";
            case UDP_UNREPLIED -> "udp-unreplied";
            case UDP_REPLIED -> "udp-replied";
            case ICMP -> "icmp";
            default -> "unknown(" + state + ")";
        };
    }
}
