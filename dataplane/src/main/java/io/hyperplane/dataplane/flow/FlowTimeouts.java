package io.hyperplane.dataplane.flow;

/**
 * Idle timeouts in seconds per tracking state. Defaults follow DESIGN.md §3: TCP established
 * 350 s (the NAT gateway's idle timeout), UDP 30 s or 180 s once both directions were seen (the
 * security-group "UDP stream" figure), ICMP 30 s; transitory TCP states are short.
 */
public record FlowTimeouts(int tcpSynSent, int tcpEstablished, int tcpClosing, int tcpTimeWait, int tcpClosed,
                           int udpUnreplied, int udpReplied, int icmp) {
    public static final FlowTimeouts DEFAULTS = new FlowTimeouts(30, 350, 60, 30, 10, 30, 180, 30);

    public FlowTimeouts {
        check("tcpSynSent", tcpSynSent);
        check("tcpEstablished", tcpEstablished);
        check("tcpClosing", tcpClosing);
        check("tcpTimeWait", tcpTimeWait);
        check("tcpClosed", tcpClosed);
        check("udpUnreplied", udpUnreplied);
        check("udpReplied", udpReplied);
        check("icmp", icmp);
    }

    private static void check(String name, int seconds) {
        if (seconds < 1 || seconds > 432_000) {
            throw new IllegalArgumentException("timeout " + name + " " + seconds + " s: must be 1..432000 (5 days, AWS's longest)");
        }
    }

    public FlowTimeouts withTcpEstablished(int seconds) {
        return new FlowTimeouts(tcpSynSent, seconds, tcpClosing, tcpTimeWait, tcpClosed, udpUnreplied, udpReplied, icmp);
    }
}
