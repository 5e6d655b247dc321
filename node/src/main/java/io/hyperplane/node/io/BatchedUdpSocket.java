package io.hyperplane.node.io;

import io.hyperplane.linux.NativeCalls;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

import static io.hyperplane.linux.NativeCalls.errno;
import static io.hyperplane.linux.NativeCalls.failure;

/**
 * An IPv4 UDP socket that receives and sends in batches with Linux {@code recvmmsg(2)} and
 * {@code sendmmsg(2)}, called directly through the Foreign Function &amp; Memory API.
 *
 * <p>Everything the kernel reads or writes lives in native memory owned by one arena and is set up
 * once in {@link #open}: after that {@link #receive()}, {@link #queue}, {@link #flush()} and the
 * per-slot getters allocate nothing on the Java heap (a forwarder moving millions of packets a second
 * cannot afford a GC per few seconds). Receive side, per slot {@code i}:
 * <pre>
 *  rx mmsghdr[i]                      rx iovec[i]             receiveBuffer() (one direct buffer)
 * +------------------+              +-------------+          +---------+---------+-----+-----------+
 * | msg_name    ----------------+   | iov_base --------+     | slot 0  | slot 1  | ... | slot B-1  |
 * | msg_namelen = 16 |          |   | iov_len = S |    |     +---------+---------+-----+-----------+
 * | msg_iov     --------------+ |   +-------------+    |      ^ 0       ^ S                ^ (B-1)*S
 * | msg_iovlen  = 1  |        | |                      +------------------------- points at slot i
 * | msg_flags   (out: TRUNC)  | +-> rx sockaddr_in[i] (out: source ip/port)
 * | msg_len     (out: length) +---> rx iovec[i]
 * +------------------+
 * </pre>
 * Transmit side: {@code batchSize} tx mmsghdrs, each with its own iovec and destination
 * sockaddr_in. {@link #queue} points entry {@code n}'s iovec either straight at the caller's bytes
 * (when they are in {@link #receiveBuffer()} or {@link #transmitBuffer()}: zero copy, e.g. forwarding a
 * received slot after rewriting it in place) or at transmit scratch slot {@code n}, into which it
 * copies them. Entry {@code n} always owns scratch slot {@code n}, so scratch never runs out before the
 * queue does, and a caller may build a datagram in place at {@link #transmitSlotOffset()}.
 *
 * <p>The two hot calls, recvmmsg and sendmmsg, do not capture errno. An errno-capturing downcall
 * makes the JDK slice its capture segment on every call ({@code SharedUtils.checkCaptureSegment},
 * a 40-byte object) and only C2's escape analysis removes that, depending on inlining decisions:
 * the node's allocation test measured 0 to 1.3 bytes per packet run to run. Instead, when a hot
 * call returns -1, errno is read right away through {@code __errno_location()}. The JVM could in
 * principle change errno between the two downcalls, so a single unexpected errno is never
 * trusted to be fatal: it is counted and the call reports nothing done; only
 * {@link #PERSISTENT_ERRORS} unexpected failures in a row raise an exception. Setup calls
 * (socket, bind, setsockopt) keep exact errno capture.
 *
 * <p>Threading: not thread-safe. One thread owns the socket (receive, queue, flush, close); it may be
 * opened on another thread (the arena is shared). Close it from the owning thread, or after that
 * thread stopped using it: the receive timeout bounds how long that takes.
 *
 * <p>Only x86-64 Linux: the struct layouts below are that ABI's.
 */
public final class BatchedUdpSocket implements AutoCloseable {

    // Socket API constants (Linux, <sys/socket.h>, <netinet/in.h>, <asm-generic/errno-base.h>).
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    /** Not inherited by child processes the JVM might start. */
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int DEFAULT_PROTOCOL = 0;
    private static final int SOL_SOCKET = 1;
    private static final int SO_REUSEADDR = 2;
    /** Several sockets on one address and port, the kernel spreading datagrams over them (Linux 3.9). */
    private static final int SO_REUSEPORT = 15;
    /** A classic BPF program choosing the socket of a SO_REUSEPORT group (Linux 4.5, asm-generic/socket.h). */
    private static final int SO_ATTACH_REUSEPORT_CBPF = 51;
    // struct sock_fprog: {u16 len, 6 bytes padding, struct sock_filter *filter}
    private static final int SOCK_FPROG_SIZE = 16;
    private static final int FPROG_FILTER_OFFSET = 8;
    private static final int SO_SNDBUF = 7;
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVTIMEO = 20;
    private static final int SO_SNDBUFFORCE = 32;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int MSG_TRUNC = 0x20;
    private static final int MSG_WAITFORONE = 0x10000;
    private static final int NO_FLAGS = 0;
    private static final int EINTR = 4;
    private static final int EBADF = 9;
    private static final int EAGAIN = 11;
    private static final int EFAULT = 14;
    private static final int ENOTSOCK = 88;
    /** The kernel caps recvmmsg/sendmmsg vectors at UIO_MAXIOV. */
    public static final int MAX_BATCH_SIZE = 1024;
    /** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP); a bigger slot could never fill. */
    public static final int MAX_SLOT_SIZE = 65_507;
    private static final int MAX_PORT = 0xffff;

    // struct sockaddr_in: {u16 family (host order), u16 port (BE), u32 addr (BE), 8 zero bytes}
    private static final int SOCKADDR_IN_SIZE = 16;
    private static final int SIN_FAMILY_OFFSET = 0;
    private static final int SIN_PORT_OFFSET = 2;
    private static final int SIN_ADDR_OFFSET = 4;
    // struct iovec: {void *base, size_t len}
    private static final int IOVEC_SIZE = 16;
    private static final int IOV_BASE_OFFSET = 0;
    private static final int IOV_LEN_OFFSET = 8;
    // struct mmsghdr: {struct msghdr hdr (56 bytes), unsigned msg_len, 4 padding}
    private static final int MMSGHDR_SIZE = 64;
    private static final int MSG_NAME_OFFSET = 0;
    private static final int MSG_NAMELEN_OFFSET = 8;
    private static final int MSG_IOV_OFFSET = 16;
    private static final int MSG_IOVLEN_OFFSET = 24;
    private static final int MSG_CONTROL_OFFSET = 32;
    private static final int MSG_CONTROLLEN_OFFSET = 40;
    private static final int MSG_FLAGS_OFFSET = 48;
    private static final int MSG_LEN_OFFSET = 56;
    // struct timeval: {long sec, long usec}
    private static final int TIMEVAL_SIZE = 16;
    private static final int TV_SEC_OFFSET = 0;
    private static final int TV_USEC_OFFSET = 8;
    private static final int C_INT_SIZE = 4;
    private static final long STRUCT_ALIGNMENT = 8;
    /** Slots start on a cache line so headers parsed in place do not straddle more lines than needed. */
    private static final long SLOT_ALIGNMENT = 64;

    // UDP generic segmentation offload (Linux 4.18+, <linux/udp.h>): one sendmmsg entry carries
    // several same-size datagrams to one destination and the kernel splits them after routing.
    private static final int SOL_UDP = 17;
    private static final int UDP_SEGMENT = 103;
    /** The kernel's UDP_MAX_SEGMENTS (64 before Linux 6.10, 128 since): the lower one. */
    public static final int MAX_GSO_SEGMENTS = 64;
    /** Keeps a GSO send under the 64 KB IPv4 packet limit with headers to spare. */
    private static final int MAX_GSO_BYTES = 60_000;
    // cmsg carrying a u16 segment size: CMSG_SPACE(2) = 24 bytes, CMSG_LEN(2) = 18.
    private static final int GSO_CMSG_SPACE = 24;
    private static final int GSO_CMSG_LEN = 18;
    private static final int CMSG_LEVEL_OFFSET = 8;
    private static final int CMSG_TYPE_OFFSET = 12;
    private static final int CMSG_DATA_OFFSET = 16;

    private static final ValueLayout.OfShort NET_SHORT = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt NET_INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);

    /** Unexpected hot-call failures in a row before one is believed fatal (see the class comment). */
    public static final int PERSISTENT_ERRORS = 100;

    private final Arena arena;
    private int receiveFailuresInARow;
    private int sendFailuresInARow;
    private final int batchSize;
    private final int slotSize;

    private final MemorySegment rxMessages;
    private final MemorySegment rxAddresses;
    private final MemorySegment rxSlots;
    private final ByteBuffer rxBuffer;
    private final long rxSlotsAddress;

    private final MemorySegment txMessages;
    /** txMessages sliced at every entry, made once so a partial-send retry need not slice (allocate). */
    private final MemorySegment[] txMessagesFrom;
    private final MemorySegment txIovecs;
    private final MemorySegment txControl;
    private final MemorySegment txAddresses;
    /** Per transmit entry: destination, segment size, segments, bytes, and whether more may join. */
    private final int[] txDestinationIp;
    private final int[] txDestinationPort;
    private final int[] txSegmentSize;
    private final int[] txSegments;
    private final int[] txBytes;
    private final boolean[] txOpen;
    private boolean gso;
    private final MemorySegment txSlots;
    private final ByteBuffer txBuffer;
    /** Private view of the scratch memory used for copies, immune to the caller moving txBuffer's limit. */
    private final ByteBuffer txCopyView;
    private final long txSlotsAddress;

    /** Setup and teardown calls (socket, setsockopt, bind, getsockname, close). */
    private final MemorySegment controlErrno;
    private final MemorySegment controlScratch;

    private int fd = -1;
    private int localPort;
    private int received;
    private int txQueued;
    private long sendErrors;
    private long queueOverflows;
    private long coalesced;

    private BatchedUdpSocket(int batchSize, int slotSize) {
        this.batchSize = batchSize;
        this.slotSize = slotSize;
        this.arena = Arena.ofShared();
        try {
            rxMessages = arena.allocate((long) MMSGHDR_SIZE * batchSize, STRUCT_ALIGNMENT);
            MemorySegment rxIovecs = arena.allocate((long) IOVEC_SIZE * batchSize, STRUCT_ALIGNMENT);
            rxAddresses = arena.allocate((long) SOCKADDR_IN_SIZE * batchSize, STRUCT_ALIGNMENT);
            rxSlots = arena.allocate((long) slotSize * batchSize, SLOT_ALIGNMENT);
            txMessages = arena.allocate((long) MMSGHDR_SIZE * batchSize, STRUCT_ALIGNMENT);
            txIovecs = arena.allocate((long) IOVEC_SIZE * batchSize * MAX_GSO_SEGMENTS, STRUCT_ALIGNMENT);
            txControl = arena.allocate((long) GSO_CMSG_SPACE * batchSize, STRUCT_ALIGNMENT);
            txAddresses = arena.allocate((long) SOCKADDR_IN_SIZE * batchSize, STRUCT_ALIGNMENT);
            txSlots = arena.allocate((long) slotSize * batchSize, SLOT_ALIGNMENT);
            controlErrno = arena.allocate(NativeCalls.ERRNO_STATE_SIZE, STRUCT_ALIGNMENT);
            controlScratch = arena.allocate(Math.max(SOCKADDR_IN_SIZE + C_INT_SIZE, TIMEVAL_SIZE), STRUCT_ALIGNMENT);

            rxSlotsAddress = rxSlots.address();
            txSlotsAddress = txSlots.address();
            rxBuffer = rxSlots.asByteBuffer(); // big-endian, like every ByteBuffer
            txBuffer = txSlots.asByteBuffer();
            txCopyView = txSlots.asByteBuffer();
            txMessagesFrom = new MemorySegment[batchSize];
            txDestinationIp = new int[batchSize];
            txDestinationPort = new int[batchSize];
            txSegmentSize = new int[batchSize];
            txSegments = new int[batchSize];
            txBytes = new int[batchSize];
            txOpen = new boolean[batchSize];
            for (int i = 0; i < batchSize; i++) {
                // Receive entries never change except namelen (reset per call) and the kernel's outputs.
                rxIovecs.set(ValueLayout.JAVA_LONG, (long) i * IOVEC_SIZE + IOV_BASE_OFFSET, rxSlotsAddress + (long) i * slotSize);
                rxIovecs.set(ValueLayout.JAVA_LONG, (long) i * IOVEC_SIZE + IOV_LEN_OFFSET, slotSize);
                initMessage(rxMessages, i, rxAddresses, rxIovecs);
                // Transmit entries: queue() fills in iov_base/iov_len and the destination port/address.
                txAddresses.set(ValueLayout.JAVA_SHORT, (long) i * SOCKADDR_IN_SIZE + SIN_FAMILY_OFFSET, (short) AF_INET);
                initMessage(txMessages, i, txAddresses, txIovecs);
                // Each transmit entry owns MAX_GSO_SEGMENTS iovecs and one UDP_SEGMENT cmsg.
                txMessages.set(ValueLayout.JAVA_LONG, (long) i * MMSGHDR_SIZE + MSG_IOV_OFFSET,
                        txIovecs.address() + (long) i * MAX_GSO_SEGMENTS * IOVEC_SIZE);
                long cmsg = (long) i * GSO_CMSG_SPACE;
                txControl.set(ValueLayout.JAVA_LONG, cmsg, GSO_CMSG_LEN);
                txControl.set(ValueLayout.JAVA_INT, cmsg + CMSG_LEVEL_OFFSET, SOL_UDP);
                txControl.set(ValueLayout.JAVA_INT, cmsg + CMSG_TYPE_OFFSET, UDP_SEGMENT);
                txMessagesFrom[i] = txMessages.asSlice((long) i * MMSGHDR_SIZE);
            }
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Points message {@code i} at its own sockaddr_in and its single iovec (arena memory is zeroed). */
    private static void initMessage(MemorySegment messages, int i, MemorySegment addresses, MemorySegment iovecs) {
        long base = (long) i * MMSGHDR_SIZE;
        messages.set(ValueLayout.JAVA_LONG, base + MSG_NAME_OFFSET, addresses.address() + (long) i * SOCKADDR_IN_SIZE);
        messages.set(ValueLayout.JAVA_INT, base + MSG_NAMELEN_OFFSET, SOCKADDR_IN_SIZE);
        messages.set(ValueLayout.JAVA_LONG, base + MSG_IOV_OFFSET, iovecs.address() + (long) i * IOVEC_SIZE);
        messages.set(ValueLayout.JAVA_LONG, base + MSG_IOVLEN_OFFSET, 1L);
        messages.set(ValueLayout.JAVA_LONG, base + MSG_CONTROL_OFFSET, 0L);
        messages.set(ValueLayout.JAVA_LONG, base + MSG_CONTROLLEN_OFFSET, 0L);
    }

    /**
     * Opens an AF_INET SOCK_DGRAM socket bound to {@code ip:port} ({@code ip} in network order, 0 = any;
     * {@code port} 0 = kernel's choice, see {@link #localPort()}). Sets SO_REUSEADDR, SO_RCVBUF/SO_SNDBUF
     * to {@code socketBufferBytes} (the FORCE variants first, which ignore the rmem_max/wmem_max caps
     * when we run with CAP_NET_ADMIN; 0 leaves the kernel defaults), and SO_RCVTIMEO so that
     * {@link #receive()} returns 0 every {@code receiveTimeoutMillis} when idle, letting the owning
     * thread do timer work and notice shutdown.
     *
     * @throws IOException naming the failing call, e.g.
     *     {@code "bind 198.18.0.1:4789: Address already in use (errno 98)"}
     */
    public static BatchedUdpSocket open(int ip, int port, int batchSize, int slotSize, int socketBufferBytes,
                                        int receiveTimeoutMillis) throws IOException {
        return open(ip, port, batchSize, slotSize, socketBufferBytes, receiveTimeoutMillis, false);
    }

    /**
     * Opens {@code program.threads()} sockets on {@code ip:port} as one SO_REUSEPORT group, in
     * order, and attaches {@code program} to choose among them: socket {@code i} of the result
     * receives what the program sends to index {@code i}, since the kernel numbers a group's
     * sockets in bind order. {@code port} 0 lets the kernel choose for the first; the others join
     * it. Close them together: the kernel fills a closed socket's place with the group's last one,
     * which would renumber the rest. Each socket is set up as {@link #open} describes.
     */
    public static BatchedUdpSocket[] openGroup(int ip, int port, SteeringProgram program, int batchSize, int slotSize,
                                               int socketBufferBytes, int receiveTimeoutMillis) throws IOException {
        BatchedUdpSocket[] group = new BatchedUdpSocket[program.threads()];
        try {
            for (int i = 0; i < group.length; i++) {
                group[i] = open(ip, i == 0 ? port : group[0].localPort(), batchSize, slotSize, socketBufferBytes,
                        receiveTimeoutMillis, true);
            }
            group[0].attach(program);
            return group;
        } catch (IOException | RuntimeException | Error e) {
            for (BatchedUdpSocket socket : group) {
                if (socket != null) {
                    socket.close();
                }
            }
            throw e;
        }
    }

    private static BatchedUdpSocket open(int ip, int port, int batchSize, int slotSize, int socketBufferBytes,
                                         int receiveTimeoutMillis, boolean reusePort) throws IOException {
        checkPort(port, "port");
        if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
            throw new IllegalArgumentException("batchSize " + batchSize + ": must be 1.." + MAX_BATCH_SIZE);
        }
        if (slotSize < 1 || slotSize > MAX_SLOT_SIZE) {
            throw new IllegalArgumentException("slotSize " + slotSize + ": must be 1.." + MAX_SLOT_SIZE);
        }
        if (socketBufferBytes < 0) {
            throw new IllegalArgumentException("socketBufferBytes " + socketBufferBytes + ": must be >= 0 (0 = kernel default)");
        }
        if (receiveTimeoutMillis < 1) {
            // 0 would mean "block forever" to the kernel, and the owning thread could never notice shutdown.
            throw new IllegalArgumentException("receiveTimeoutMillis " + receiveTimeoutMillis + ": must be >= 1");
        }
        ensureSupportedPlatform();
        BatchedUdpSocket socket = new BatchedUdpSocket(batchSize, slotSize);
        try {
            socket.setUp(ip, port, socketBufferBytes, receiveTimeoutMillis, reusePort);
            return socket;
        } catch (IOException | RuntimeException | Error e) {
            socket.close();
            throw e;
        }
    }

    private void setUp(int ip, int port, int socketBufferBytes, int receiveTimeoutMillis, boolean reusePort) throws IOException {
        int result = callInt(() -> (int) Libc.SOCKET.invokeExact(controlErrno, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, DEFAULT_PROTOCOL));
        if (result < 0) {
            throw failure("socket(AF_INET, SOCK_DGRAM)", errno(controlErrno));
        }
        fd = result;
        setIntOption(SO_REUSEADDR, "SO_REUSEADDR", 1);
        if (reusePort) {
            setIntOption(SO_REUSEPORT, "SO_REUSEPORT", 1);
        }
        if (socketBufferBytes > 0) {
            setBufferOption(SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", socketBufferBytes);
            setBufferOption(SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF", socketBufferBytes);
        }
        MemorySegment timeval = controlScratch.asSlice(0, TIMEVAL_SIZE);
        timeval.set(ValueLayout.JAVA_LONG, TV_SEC_OFFSET, receiveTimeoutMillis / 1000L);
        timeval.set(ValueLayout.JAVA_LONG, TV_USEC_OFFSET, (receiveTimeoutMillis % 1000L) * 1000L);
        setOption(SO_RCVTIMEO, "SO_RCVTIMEO " + receiveTimeoutMillis + "ms", timeval);

        MemorySegment address = controlScratch.asSlice(0, SOCKADDR_IN_SIZE).fill((byte) 0);
        writeSockaddr(address, 0, ip, port);
        result = callInt(() -> (int) Libc.BIND.invokeExact(controlErrno, fd, address, SOCKADDR_IN_SIZE));
        if (result < 0) {
            throw failure("bind " + formatIp(ip) + ":" + port, errno(controlErrno));
        }

        MemorySegment bound = controlScratch.asSlice(0, SOCKADDR_IN_SIZE).fill((byte) 0);
        MemorySegment length = controlScratch.asSlice(SOCKADDR_IN_SIZE, C_INT_SIZE);
        length.set(ValueLayout.JAVA_INT, 0, SOCKADDR_IN_SIZE);
        result = callInt(() -> (int) Libc.GETSOCKNAME.invokeExact(controlErrno, fd, bound, length));
        if (result < 0) {
            throw failure("getsockname", errno(controlErrno));
        }
        localPort = Short.toUnsignedInt(bound.get(NET_SHORT, SIN_PORT_OFFSET));

        // UDP_SEGMENT as a socket option with size 0 changes nothing but tells whether the kernel has GSO.
        MemorySegment zero = controlScratch.asSlice(0, C_INT_SIZE).fill((byte) 0);
        gso = callInt(() -> (int) Libc.SETSOCKOPT.invokeExact(controlErrno, fd, SOL_UDP, UDP_SEGMENT, zero, C_INT_SIZE)) == 0;
    }

    /** Attaches the group's steering program (one attach serves the whole group; a second replaces it). */
    private void attach(SteeringProgram program) throws IOException {
        byte[] code = program.bytes();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment filter = scratch.allocate(code.length, STRUCT_ALIGNMENT);
            filter.copyFrom(MemorySegment.ofArray(code));
            MemorySegment fprog = scratch.allocate(SOCK_FPROG_SIZE, STRUCT_ALIGNMENT);
            fprog.set(ValueLayout.JAVA_SHORT, 0, (short) program.length());
            fprog.set(ValueLayout.JAVA_LONG, FPROG_FILTER_OFFSET, filter.address());
            setOption(SO_ATTACH_REUSEPORT_CBPF, "SO_ATTACH_REUSEPORT_CBPF (" + program.length() + " instructions)", fprog);
        }
    }

    /** True when datagrams queued from the receive buffer are coalesced into GSO sends. */
    public boolean segmentationOffload() {
        return gso;
    }

    /** Sets a socket buffer size, forcing past the sysctl cap if permitted (we normally run as root). */
    private void setBufferOption(int forceOption, int plainOption, String name, int bytes) throws IOException {
        MemorySegment value = controlScratch.asSlice(0, C_INT_SIZE);
        value.set(ValueLayout.JAVA_INT, 0, bytes);
        int result = callInt(() -> (int) Libc.SETSOCKOPT.invokeExact(controlErrno, fd, SOL_SOCKET, forceOption, value, C_INT_SIZE));
        if (result < 0) {
            // EPERM without CAP_NET_ADMIN: the plain option still works, silently capped at rmem_max/wmem_max.
            setIntOption(plainOption, name + " " + bytes, bytes);
        }
    }

    private void setIntOption(int option, String description, int optionValue) throws IOException {
        MemorySegment value = controlScratch.asSlice(0, C_INT_SIZE);
        value.set(ValueLayout.JAVA_INT, 0, optionValue);
        setOption(option, description, value);
    }

    private void setOption(int option, String description, MemorySegment value) throws IOException {
        int size = (int) value.byteSize();
        int result = callInt(() -> (int) Libc.SETSOCKOPT.invokeExact(controlErrno, fd, SOL_SOCKET, option, value, size));
        if (result < 0) {
            throw failure("setsockopt " + description, errno(controlErrno));
        }
    }

    /** All receive slots as one direct, big-endian buffer over native memory; slot {@code i} starts at {@code i * slotSize()}. */
    public ByteBuffer receiveBuffer() {
        return rxBuffer;
    }

    /**
     * Transmit scratch: {@code batchSize} slots of {@code slotSize} bytes. Datagrams queued from this
     * buffer are sent in place; build the next one at {@link #transmitSlotOffset()}.
     */
    public ByteBuffer transmitBuffer() {
        return txBuffer;
    }

    /** Offset in {@link #transmitBuffer()} of the scratch slot the next queued datagram owns, or -1 if the queue is full. */
    public int transmitSlotOffset() {
        return txQueued < batchSize ? txQueued * slotSize : -1;
    }

    public int slotSize() {
        return slotSize;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Local port actually bound (the kernel's choice when port 0 was asked for), read once with getsockname. */
    public int localPort() {
        return localPort;
    }

    /**
     * Receives up to {@code batchSize} datagrams into the receive slots with one
     * {@code recvmmsg(MSG_WAITFORONE)}: it blocks while the socket is idle (no spinning), but once one
     * datagram has arrived it takes whatever else is already queued without waiting, so a busy socket
     * yields full batches and an idle one still answers the first packet at once.
     *
     * <p>One batch per call: returning to the caller after each batch (instead of looping until the
     * socket is empty) measured better, since the batch is forwarded while its slots are still hot in
     * cache and the transmit side gets to flush before the kernel queue fills.
     *
     * <p>Overwrites the slots: flush anything queued zero-copy from {@link #receiveBuffer()} first.
     *
     * @return datagrams received, 0 when the SO_RCVTIMEO timeout passed (or a signal interrupted the call)
     */
    public int receive() throws IOException {
        ensureOpen();
        for (int i = 0; i < received; i++) {
            // The kernel overwrote namelen with the source address length; it is an in/out field.
            rxMessages.set(ValueLayout.JAVA_INT, (long) i * MMSGHDR_SIZE + MSG_NAMELEN_OFFSET, SOCKADDR_IN_SIZE);
        }
        received = 0;
        int result;
        try {
            result = (int) Libc.RECVMMSG.invokeExact(fd, rxMessages, batchSize, MSG_WAITFORONE, MemorySegment.NULL);
        } catch (Throwable t) {
            throw NativeCalls.unexpected(t);
        }
        if (result < 0) {
            int errno = Libc.lastErrno();
            if (errno == EAGAIN || errno == EINTR) {
                receiveFailuresInARow = 0;
                return 0;
            }
            if (++receiveFailuresInARow >= PERSISTENT_ERRORS) {
                throw failure("recvmmsg", errno);
            }
            return 0;
        }
        receiveFailuresInARow = 0;
        received = result;
        return result;
    }

    /** Bytes received into slot {@code i} of the last {@link #receive()} (at most {@code slotSize}). */
    public int length(int i) {
        return rxMessages.get(ValueLayout.JAVA_INT, (long) Objects.checkIndex(i, received) * MMSGHDR_SIZE + MSG_LEN_OFFSET);
    }

    /** Whether datagram {@code i} was longer than {@code slotSize} and cut by the kernel (MSG_TRUNC): drop it. */
    public boolean truncated(int i) {
        return (rxMessages.get(ValueLayout.JAVA_INT, (long) Objects.checkIndex(i, received) * MMSGHDR_SIZE + MSG_FLAGS_OFFSET) & MSG_TRUNC) != 0;
    }

    /** Source address of datagram {@code i}, network order (127.0.0.1 is {@code 0x7F000001}). */
    public int sourceIp(int i) {
        return rxAddresses.get(NET_INT, (long) Objects.checkIndex(i, received) * SOCKADDR_IN_SIZE + SIN_ADDR_OFFSET);
    }

    public int sourcePort(int i) {
        return Short.toUnsignedInt(rxAddresses.get(NET_SHORT, (long) Objects.checkIndex(i, received) * SOCKADDR_IN_SIZE + SIN_PORT_OFFSET));
    }

    /**
     * Queues one datagram for the next {@link #flush()}. If {@code buffer} is {@link #receiveBuffer()} or
     * {@link #transmitBuffer()} (the same object), the datagram is sent from there in place and
     * {@code offset} is absolute in that buffer; the bytes must stay untouched until the flush. Any other
     * buffer is copied now into the scratch slot this entry owns ({@code length <= slotSize}).
     *
     * @return false, counted in {@link #queueOverflows()}, when {@code batchSize} datagrams are already queued
     */
    public boolean queue(ByteBuffer buffer, int offset, int length, int destinationIp, int destinationPort) {
        if (fd < 0) {
            throw new IllegalStateException("socket closed");
        }
        checkPort(destinationPort, "destinationPort");
        boolean inPlace = buffer == rxBuffer || buffer == txBuffer;
        // Coalescing: the newest entry to this destination takes the datagram as one more GSO
        // segment when it fits; otherwise that entry is closed, so datagrams to one destination
        // always leave in the order they were queued.
        for (int e = txQueued - 1; e >= 0; e--) {
            if (txDestinationIp[e] != destinationIp || txDestinationPort[e] != destinationPort) {
                continue;
            }
            if (inPlace && gso && txOpen[e] && length <= txSegmentSize[e] && txSegments[e] < MAX_GSO_SEGMENTS
                    && txBytes[e] + length <= MAX_GSO_BYTES) {
                appendSegment(e, buffer == rxBuffer ? rxSlotsAddress : txSlotsAddress, buffer.capacity(), offset, length);
                return true;
            }
            txOpen[e] = false;
            break;
        }
        if (txQueued == batchSize) {
            queueOverflows++;
            return false;
        }
        int entry = txQueued;
        long base;
        if (buffer == rxBuffer) {
            Objects.checkFromIndexSize(offset, length, rxBuffer.capacity());
            base = rxSlotsAddress + offset;
        } else if (buffer == txBuffer) {
            Objects.checkFromIndexSize(offset, length, txBuffer.capacity());
            base = txSlotsAddress + offset;
        } else {
            if (length > slotSize) {
                throw new IllegalArgumentException("datagram of " + length + " bytes does not fit a " + slotSize + "-byte transmit slot");
            }
            int slot = entry * slotSize;
            txCopyView.put(slot, buffer, offset, length); // bounds-checked against buffer's limit
            base = txSlotsAddress + slot;
        }
        long iovec = (long) entry * MAX_GSO_SEGMENTS * IOVEC_SIZE;
        txIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET, base);
        txIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, length);
        long message = (long) entry * MMSGHDR_SIZE;
        txMessages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN_OFFSET, 1L);
        txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROL_OFFSET, 0L);
        txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET, 0L);
        writeSockaddr(txAddresses, (long) entry * SOCKADDR_IN_SIZE, destinationIp, destinationPort);
        txDestinationIp[entry] = destinationIp;
        txDestinationPort[entry] = destinationPort;
        txSegmentSize[entry] = length;
        txSegments[entry] = 1;
        txBytes[entry] = length;
        txOpen[entry] = inPlace;
        txQueued = entry + 1;
        return true;
    }

    /**
     * Adds a datagram to entry {@code e} as a further GSO segment: one more iovec (the kernel
     * concatenates iovecs, then cuts every segment-size bytes) and the UDP_SEGMENT cmsg. A
     * segment shorter than the others must be the last (udp(7)), so it closes the entry.
     */
    private void appendSegment(int e, long bufferAddress, int capacity, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, capacity);
        int n = txSegments[e];
        long iovec = ((long) e * MAX_GSO_SEGMENTS + n) * IOVEC_SIZE;
        txIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET, bufferAddress + offset);
        txIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, length);
        long message = (long) e * MMSGHDR_SIZE;
        txMessages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN_OFFSET, n + 1L);
        if (n == 1) {
            long cmsg = (long) e * GSO_CMSG_SPACE;
            txControl.set(ValueLayout.JAVA_SHORT, cmsg + CMSG_DATA_OFFSET, (short) txSegmentSize[e]);
            txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROL_OFFSET, txControl.address() + cmsg);
            txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET, GSO_CMSG_SPACE);
        }
        txSegments[e] = n + 1;
        txBytes[e] += length;
        if (length < txSegmentSize[e]) {
            txOpen[e] = false;
        }
        coalesced++;
    }

    /**
     * Sends everything queued with {@code sendmmsg}, then empties the queue. The kernel stops at the
     * first datagram it cannot send and reports only how many went before it, so on a short count we
     * call again from there; when that first datagram fails (ENETUNREACH, EPERM from a firewall,
     * EMSGSIZE, ...) it is counted in {@link #sendErrors()} and skipped: one bad destination must not
     * stall or kill the forwarding thread. Only errors that say the socket itself is unusable throw.
     *
     * @return datagrams the kernel accepted
     */
    public int flush() throws IOException {
        ensureOpen();
        int count = txQueued;
        int next = 0;
        int sent = 0;
        try {
            while (next < count) {
                int result;
                try {
                    result = (int) Libc.SENDMMSG.invokeExact(fd, txMessagesFrom[next], count - next, NO_FLAGS);
                } catch (Throwable t) {
                    throw NativeCalls.unexpected(t);
                }
                if (result > 0) {
                    sent += result;
                    next += result;
                    sendFailuresInARow = 0;
                    continue;
                }
                int errno = result < 0 ? Libc.lastErrno() : 0;
                if (result < 0 && errno == EINTR) {
                    continue;
                }
                if (result < 0 && (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)
                        && ++sendFailuresInARow >= PERSISTENT_ERRORS) {
                    throw failure("sendmmsg", errno);
                }
                sendErrors++;
                next++;
            }
        } finally {
            txQueued = 0;
        }
        return sent;
    }

    /** Datagrams that went out as further GSO segments of another datagram's send, since open. */
    public long coalesced() {
        return coalesced;
    }

    /** Transmit entries queued for the next {@link #flush()}; a GSO entry carries several datagrams. */
    public int queued() {
        return txQueued;
    }

    /** Datagrams {@link #flush()} dropped because the kernel refused them. */
    public long sendErrors() {
        return sendErrors;
    }

    /** Datagrams {@link #queue} refused because the batch was full. */
    public long queueOverflows() {
        return queueOverflows;
    }

    /** Closes the socket, then frees the native memory (slots and buffers become unusable). Idempotent. */
    @Override
    public void close() {
        if (!arena.scope().isAlive()) {
            return;
        }
        int descriptor = fd;
        fd = -1;
        received = 0;
        txQueued = 0;
        if (descriptor >= 0) {
            try {
                // No retry on EINTR: Linux releases the descriptor even then, and it may already be reused.
                int ignored = (int) Libc.CLOSE.invokeExact(controlErrno, descriptor);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }
        arena.close();
    }

    @Override
    public String toString() {
        return "BatchedUdpSocket[fd=" + fd + ", port=" + localPort + ", batch=" + batchSize + ", slot=" + slotSize + "]";
    }

    private void ensureOpen() throws IOException {
        if (fd < 0) {
            throw new IOException("socket closed");
        }
    }

    private static void writeSockaddr(MemorySegment addresses, long base, int ip, int port) {
        addresses.set(ValueLayout.JAVA_SHORT, base + SIN_FAMILY_OFFSET, (short) AF_INET);
        addresses.set(NET_SHORT, base + SIN_PORT_OFFSET, (short) port);
        addresses.set(NET_INT, base + SIN_ADDR_OFFSET, ip);
    }

    private static void checkPort(int port, String name) {
        if (port < 0 || port > MAX_PORT) {
            throw new IllegalArgumentException(name + " " + port + ": must be 0.." + MAX_PORT);
        }
    }

    /** Refuses, before any symbol lookup, platforms whose struct layouts differ from the ones hard-coded above. */
    private static void ensureSupportedPlatform() {
        String os = System.getProperty("os.name");
        String arch = System.getProperty("os.arch");
        if (!"Linux".equals(os) || !("amd64".equals(arch) || "x86_64".equals(arch))) {
            throw new UnsupportedOperationException("BatchedUdpSocket needs x86-64 Linux, not " + os + "/" + arch);
        }
    }


    private static String formatIp(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }

    /** Setup-path calls only (the lambda allocates); the hot paths call their handles inline. */
    private static int callInt(NativeCall call) {
        try {
            return call.invoke();
        } catch (Throwable t) {
            throw NativeCalls.unexpected(t);
        }
    }

    @FunctionalInterface
    private interface NativeCall {
        int invoke() throws Throwable;
    }

    /**
     * libc downcall handles, built on first use. Every handle but the hot ones captures errno. Linking is a
     * restricted operation: the JVM must run with {@code --enable-native-access=ALL-UNNAMED} (or the module).
     */
    @SuppressWarnings("restricted")
    private static final class Libc {

        private static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
        private static final ValueLayout POINTER = ValueLayout.ADDRESS;

        /** int socket(int domain, int type, int protocol) */
        static final MethodHandle SOCKET = downcall("socket", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT));
        /** int setsockopt(int fd, int level, int name, const void *value, socklen_t length) */
        static final MethodHandle SETSOCKOPT = downcall("setsockopt", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, POINTER, C_INT));
        /** int bind(int fd, const struct sockaddr *address, socklen_t length) */
        static final MethodHandle BIND = downcall("bind", FunctionDescriptor.of(C_INT, C_INT, POINTER, C_INT));
        /** int getsockname(int fd, struct sockaddr *address, socklen_t *length) */
        static final MethodHandle GETSOCKNAME = downcall("getsockname", FunctionDescriptor.of(C_INT, C_INT, POINTER, POINTER));
        /** int recvmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags, struct timespec *timeout): no capture, hot */
        static final MethodHandle RECVMMSG = NativeCalls.libc("recvmmsg",
                FunctionDescriptor.of(C_INT, C_INT, POINTER, C_INT, C_INT, POINTER));
        /** int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags): no capture, hot */
        static final MethodHandle SENDMMSG = NativeCalls.libc("sendmmsg",
                FunctionDescriptor.of(C_INT, C_INT, POINTER, C_INT, C_INT));
        /** int *__errno_location(void): the calling thread's errno, read after a hot call fails. */
        private static final MethodHandle ERRNO_LOCATION = NativeCalls.libc("__errno_location",
                FunctionDescriptor.of(POINTER));
        /** int close(int fd) */
        static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(C_INT, C_INT));

        private Libc() {
        }

        private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
            return NativeCalls.libcCapturingErrno(name, descriptor);
        }

        /** errno as it stands now on this thread; error paths only (allocates a segment view). */
        static int lastErrno() {
            try {
                MemorySegment location = (MemorySegment) ERRNO_LOCATION.invokeExact();
                return location.reinterpret(C_INT_SIZE).get(ValueLayout.JAVA_INT, 0);
            } catch (Throwable t) {
                return 0;
            }
        }

    }
}
