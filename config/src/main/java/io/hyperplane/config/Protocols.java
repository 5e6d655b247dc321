package io.hyperplane.config;

import java.util.Locale;

/** EC2's protocol names: "tcp", "udp", "icmp", "-1" (all), or an IANA number as text. */
public final class Protocols {
    public static final int ALL = -1;

    private Protocols() {
    }

    public static int parse(String protocol) {
        if (protocol == null) {
            throw new IllegalArgumentException("protocol: missing");
        }
        return switch (protocol.toLowerCase(Locale.ROOT)) {
            case "-1", "all" -> ALL;
            case "tcp" -> 6;
            case "udp" -> 17;
            case "icmp" -> 1;
            default -> {
                try {
                    int number = Integer.parseInt(protocol);
                    if (number < 0 || number > 255) {
                        throw new IllegalArgumentException("protocol " + protocol + ": must be 0..255, tcp, udp, icmp or -1");
                    }
                    yield number;
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("protocol '" + protocol + "': must be tcp, udp, icmp, -1 or a number");
                }
            }
        };
    }

    /** True when the protocol has ports (TCP, UDP) so a rule's port range applies. */
    public static boolean hasPorts(int protocol) {
        return protocol == 6 || protocol == 17;
    }
}
