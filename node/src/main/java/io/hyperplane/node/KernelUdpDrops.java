package io.hyperplane.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Datagrams the kernel dropped because a UDP socket's receive buffer was full: the "RcvbufErrors"
 * field of the "Udp:" lines in /proc/net/snmp, which is per network namespace. A node runs in a
 * namespace of its own with one socket, so this is the node's overload loss, the one drop it
 * cannot count itself (prototype notes: "a deliberate drop policy and a counter, not silent loss").
 * Read off the forwarding thread; reading a /proc file allocates.
 */
final class KernelUdpDrops {
    private static final Path SNMP = Path.of("/proc/net/snmp");
    private static final String FIELD = "RcvbufErrors";

    private final long baseline;

    KernelUdpDrops() {
        this.baseline = Math.max(0, read());
    }

    /** Drops since this object was made, or -1 when the kernel does not report them. */
    long sinceStart() {
        long now = read();
        return now < 0 ? -1 : now - baseline;
    }

    static long read() {
        try {
            List<String> lines = Files.readAllLines(SNMP);
            for (int i = 0; i + 1 < lines.size(); i++) {
                if (lines.get(i).startsWith("Udp: ") && lines.get(i + 1).startsWith("Udp: ")) {
                    String[] names = lines.get(i).split("\\s+");
                    String[] values = lines.get(i + 1).split("\\s+");
                    for (int f = 1; f < names.length && f < values.length; f++) {
                        if (names[f].equals(FIELD)) {
                            return Long.parseLong(values[f]);
                        }
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
