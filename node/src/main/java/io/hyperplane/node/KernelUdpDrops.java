package io.hyperplane.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Datagrams the kernel dropped because a UDP socket's receive buffer was full: the "RcvbufErrors"
 * field of the "Udp:" lines in /proc/net/snmp, which is per network namespace. A node runs in a
 * namespace of its own with one socket, so this is the node's overload loss, the one drop it
 * cannot count itself (prototype notes: "a deliberate drop policy and a counter, not silent loss").
 * <p>
 * The file is opened once, as {@code /proc/thread-self/net/snmp}, by the thread that opens the
 * node's socket, and re-read from offset 0 at each sample: an open procfs net file stays bound to
 * the namespace it was opened in, so this counts the socket's namespace even when only that
 * thread entered it ({@code --netns}). Read off the forwarding thread; reading allocates.
 */
final class KernelUdpDrops implements AutoCloseable {
    private static final Path[] SNMP = {Path.of("/proc/thread-self/net/snmp"), Path.of("/proc/net/snmp")};
    private static final String FIELD = "RcvbufErrors";
    private static final int MAX_SIZE = 64 << 10; // the file is about 1.5 KB

    private final FileChannel snmp;
    private final long baseline;

    private KernelUdpDrops(FileChannel snmp) {
        this.snmp = snmp;
        this.baseline = Math.max(0, read());
    }

    /** The counters of the calling thread's network namespace; reports -1 forever when the kernel has none. */
    static KernelUdpDrops open() {
        for (Path path : SNMP) {
            try {
                return new KernelUdpDrops(FileChannel.open(path));
            } catch (IOException e) {
                // /proc/thread-self needs Linux 3.17; try the process-wide view next
            }
        }
        return new KernelUdpDrops(null);
    }

    /** Drops since this object was made, or -1 when the kernel does not report them. */
    long sinceStart() {
        long now = read();
        return now < 0 ? -1 : now - baseline;
    }

    private long read() {
        if (snmp == null) {
            return -1;
        }
        try {
            ByteBuffer buffer = ByteBuffer.allocate(MAX_SIZE);
            while (buffer.hasRemaining() && snmp.read(buffer, buffer.position()) > 0) {
                // pread from offset 0 regenerates the file; keep reading until it ends
            }
            String[] lines = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).split("\n");
            for (int i = 0; i + 1 < lines.length; i++) {
                if (lines[i].startsWith("Udp: ") && lines[i + 1].startsWith("Udp: ")) {
                    String[] names = lines[i].split("\\s+");
                    String[] values = lines[i + 1].split("\\s+");
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

    @Override
    public void close() {
        if (snmp != null) {
            try {
                snmp.close();
            } catch (IOException e) {
                // nothing was written; nothing to lose
            }
        }
    }
}
