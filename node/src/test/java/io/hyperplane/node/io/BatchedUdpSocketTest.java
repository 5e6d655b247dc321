package io.hyperplane.node.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.sun.management.ThreadMXBean;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.flow.ThreadSteering;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Loopback only: every socket binds and sends to 127.0.0.1. */
class BatchedUdpSocketTest {
    private static final int LOCALHOST = 0x7F000001;
    private static final int ANY_PORT = 0;
    private static final int BATCH = 32;
    private static final int SLOT = 2048;
    private static final int SOCKET_BUFFER = 4 << 20;
    private static final int TIMEOUT_MILLIS = 100;

    private static BatchedUdpSocket open(int batch, int slot) throws IOException {
        return BatchedUdpSocket.open(LOCALHOST, ANY_PORT, batch, slot, SOCKET_BUFFER, TIMEOUT_MILLIS);
    }

    private static byte[] payload(int index) {
        byte[] bytes = new byte[10 + index * 7];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (index * 31 + i);
        }
        return bytes;
    }

    private static byte[] slotBytes(BatchedUdpSocket socket, int i) {
        byte[] bytes = new byte[socket.length(i)];
        socket.receiveBuffer().get(i * socket.slotSize(), bytes);
        return bytes;
    }

    @Test
    @Timeout(10)
    void shouldDeliverABatchWithLengthsContentsAndSource() throws IOException {
        int count = 20;
        try (BatchedUdpSocket a = open(BATCH, SLOT); BatchedUdpSocket b = open(BATCH, SLOT)) {
            for (int i = 0; i < count; i++) {
                byte[] bytes = payload(i);
                assertThat(a.queue(ByteBuffer.wrap(bytes), 0, bytes.length, LOCALHOST, b.localPort())).isTrue();
            }
            assertThat(a.queued()).isEqualTo(count);
            assertThat(a.flush()).isEqualTo(count);
            assertThat(a.queued()).isZero();

            byte[][] got = new byte[count][];
            int collected = 0;
            while (collected < count) {
                int n = b.receive();
                for (int i = 0; i < n; i++) {
                    assertThat(b.truncated(i)).isFalse();
                    assertThat(b.sourceIp(i)).isEqualTo(LOCALHOST);
                    assertThat(b.sourcePort(i)).isEqualTo(a.localPort());
                    byte[] bytes = slotBytes(b, i);
                    int index = (bytes.length - 10) / 7;
                    assertThat(got[index]).as("duplicate datagram %d", index).isNull();
                    got[index] = bytes;
                    collected++;
                }
            }
            for (int i = 0; i < count; i++) {
                assertThat(got[i]).as("datagram %d", i).isEqualTo(payload(i));
            }
            assertThat(a.sendErrors()).isZero();
        }
    }

    @Test
    @Timeout(10)
    void shouldForwardAReceivedSlotWithoutCopying() throws IOException {
        try (BatchedUdpSocket a = open(BATCH, SLOT); BatchedUdpSocket b = open(BATCH, SLOT)) {
            byte[][] sent = {payload(3), payload(5), payload(8)};
            for (byte[] bytes : sent) {
                a.queue(ByteBuffer.wrap(bytes), 0, bytes.length, LOCALHOST, b.localPort());
            }
            a.flush();
            int atB = 0;
            while (atB < sent.length) {
                int n = b.receive();
                for (int i = 0; i < n; i++) {
                    assertThat(b.queue(b.receiveBuffer(), i * b.slotSize(), b.length(i), LOCALHOST, a.localPort())).isTrue();
                }
                assertThat(b.flush()).isEqualTo(n);
                atB += n;
            }
            int atA = 0;
            while (atA < sent.length) {
                int n = a.receive();
                for (int i = 0; i < n; i++) {
                    assertThat(a.sourcePort(i)).isEqualTo(b.localPort());
                    assertThat(slotBytes(a, i)).isEqualTo(sent[atA + i]);
                }
                atA += n;
            }
        }
    }

    @Test
    @Timeout(10)
    void shouldCoalesceEqualSizedDatagramsToOneDestinationIntoOneSegmentedSend() throws IOException {
        try (BatchedUdpSocket a = open(BATCH, SLOT); BatchedUdpSocket b = open(BATCH, SLOT)) {
            assertThat(a.segmentationOffload()).as("UDP GSO (Linux 4.18+)").isTrue();
            ByteBuffer tx = a.transmitBuffer();
            int[] lengths = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 40};
            for (int k = 0; k < lengths.length; k++) {
                for (int j = 0; j < lengths[k]; j++) {
                    tx.put(k * SLOT + j, (byte) (k * 31 + j));
                }
                assertThat(a.queue(tx, k * SLOT, lengths[k], LOCALHOST, b.localPort())).isTrue();
            }

            assertThat(a.queued()).as("one sendmmsg entry for all eleven").isEqualTo(1);
            assertThat(a.flush()).isEqualTo(1);
            assertThat(a.coalesced()).isEqualTo(10);

            int got = 0;
            while (got < lengths.length) {
                int n = b.receive();
                for (int i = 0; i < n; i++, got++) {
                    assertThat(b.length(i)).as("datagram " + got).isEqualTo(lengths[got]);
                    byte[] bytes = slotBytes(b, i);
                    for (int j = 0; j < bytes.length; j++) {
                        assertThat(bytes[j]).isEqualTo((byte) (got * 31 + j));
                    }
                }
            }
        }
    }

    @Test
    @Timeout(10)
    void shouldKeepTheOrderPerDestinationWhileCoalescing() throws IOException {
        try (BatchedUdpSocket a = open(BATCH, SLOT); BatchedUdpSocket b = open(BATCH, SLOT);
             BatchedUdpSocket c = open(BATCH, SLOT)) {
            ByteBuffer tx = a.transmitBuffer();
            // To b: 100, 100; to c: 100; to b: 100 (joins b's run), 200 (cannot: closes it and starts a run
            // of 200-byte segments), 100 (joins that one as its shorter last segment).
            int[][] plan = {{b.localPort(), 100}, {b.localPort(), 100}, {c.localPort(), 100}, {b.localPort(), 100},
                    {b.localPort(), 200}, {b.localPort(), 100}};
            for (int k = 0; k < plan.length; k++) {
                tx.put(k * SLOT, (byte) k);
                assertThat(a.queue(tx, k * SLOT, plan[k][1], LOCALHOST, plan[k][0])).isTrue();
            }
            assertThat(a.queued()).isEqualTo(3);
            a.flush();

            List<Integer> atB = new ArrayList<>();
            while (atB.size() < 5) {
                int n = b.receive();
                for (int i = 0; i < n; i++) {
                    atB.add((int) b.receiveBuffer().get(i * b.slotSize()));
                }
            }
            assertThat(atB).containsExactly(0, 1, 3, 4, 5);
            assertThat(c.receive()).isEqualTo(1);
            assertThat(c.receiveBuffer().get(0)).isEqualTo((byte) 2);
        }
    }

    @Test
    @Timeout(10)
    void shouldSendFromTheTransmitBufferInPlace() throws IOException {
        try (BatchedUdpSocket a = open(BATCH, SLOT); BatchedUdpSocket b = open(BATCH, SLOT)) {
            byte[] bytes = payload(4);
            int offset = a.transmitSlotOffset();
            a.transmitBuffer().put(offset, bytes);
            assertThat(a.queue(a.transmitBuffer(), offset, bytes.length, LOCALHOST, b.localPort())).isTrue();
            assertThat(a.transmitSlotOffset()).isEqualTo(SLOT);
            assertThat(a.flush()).isEqualTo(1);
            while (b.receive() == 0) {
                // wait out timeouts until it arrives
            }
            assertThat(slotBytes(b, 0)).isEqualTo(bytes);
        }
    }

    @Test
    @Timeout(10)
    void shouldReportADatagramLargerThanTheSlotAsTruncated() throws IOException {
        int smallSlot = 64;
        try (BatchedUdpSocket a = open(BATCH, SLOT); BatchedUdpSocket b = open(BATCH, smallSlot)) {
            byte[] big = new byte[200];
            byte[] small = new byte[smallSlot];
            a.queue(ByteBuffer.wrap(big), 0, big.length, LOCALHOST, b.localPort());
            a.queue(ByteBuffer.wrap(small), 0, small.length, LOCALHOST, b.localPort());
            a.flush();
            boolean[] truncated = new boolean[2];
            int collected = 0;
            while (collected < 2) {
                int n = b.receive();
                for (int i = 0; i < n; i++) {
                    assertThat(b.length(i)).isEqualTo(smallSlot);
                    truncated[collected++] = b.truncated(i);
                }
            }
            assertThat(truncated).containsExactly(true, false);
        }
    }

    @Test
    @Timeout(10)
    void shouldReturnZeroWhenNothingArrivesWithinTheTimeout() throws IOException {
        try (BatchedUdpSocket socket = open(BATCH, SLOT)) {
            long start = System.nanoTime();
            assertThat(socket.receive()).isZero();
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(elapsedMillis).isBetween(TIMEOUT_MILLIS - 20L, 5_000L);
        }
    }

    @Test
    @Timeout(10)
    void shouldRefuseAndCountDatagramsBeyondTheBatch() throws IOException {
        int batch = 4;
        try (BatchedUdpSocket a = open(batch, SLOT); BatchedUdpSocket b = open(batch, SLOT)) {
            ByteBuffer bytes = ByteBuffer.wrap(payload(1));
            for (int i = 0; i < batch; i++) {
                assertThat(a.queue(bytes, 0, bytes.capacity(), LOCALHOST, b.localPort())).isTrue();
            }
            assertThat(a.transmitSlotOffset()).isEqualTo(-1);
            assertThat(a.queue(bytes, 0, bytes.capacity(), LOCALHOST, b.localPort())).isFalse();
            assertThat(a.queue(a.receiveBuffer(), 0, 10, LOCALHOST, b.localPort())).isFalse();
            assertThat(a.queueOverflows()).isEqualTo(2);
            assertThat(a.queued()).isEqualTo(batch);
            assertThat(a.flush()).isEqualTo(batch);
            assertThat(a.queue(bytes, 0, bytes.capacity(), LOCALHOST, b.localPort())).isTrue();
        }
    }

    @Test
    @Timeout(10)
    void shouldNotThrowWhenSendingToAClosedPort() throws IOException {
        int closedPort;
        try (BatchedUdpSocket gone = open(BATCH, SLOT)) {
            closedPort = gone.localPort();
        }
        try (BatchedUdpSocket a = open(BATCH, SLOT)) {
            ByteBuffer bytes = ByteBuffer.wrap(payload(2));
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 5; i++) {
                    a.queue(bytes, 0, bytes.capacity(), LOCALHOST, closedPort);
                }
                long errorsBefore = a.sendErrors();
                int sent = assertFlushDoesNotThrow(a);
                // Unconnected UDP ignores ICMP port unreachable, so these normally all "succeed".
                assertThat(sent + (a.sendErrors() - errorsBefore)).isEqualTo(5L);
            }
            assertThatCode(a::receive).doesNotThrowAnyException();
        }
    }

    private static int assertFlushDoesNotThrow(BatchedUdpSocket socket) {
        int[] sent = new int[1];
        assertThatCode(() -> sent[0] = socket.flush()).doesNotThrowAnyException();
        return sent[0];
    }

    @Test
    @Timeout(10)
    void shouldNameBindInTheErrorForAnAddressNotOnThisMachine() {
        int documentationAddress = 0xC6336401; // 198.51.100.1, TEST-NET-2: never assigned here
        assertThatThrownBy(() -> BatchedUdpSocket.open(documentationAddress, 4789, BATCH, SLOT, SOCKET_BUFFER, TIMEOUT_MILLIS))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("bind 198.51.100.1:4789: ")
                .hasMessageContaining("(errno 99)");
    }

    @Test
    @Timeout(10)
    void shouldBeSafeToCloseTwiceAndRefuseIoAfterwards() throws IOException {
        BatchedUdpSocket socket = open(BATCH, SLOT);
        socket.close();
        socket.close();
        assertThatThrownBy(socket::receive).isInstanceOf(IOException.class).hasMessageContaining("closed");
        assertThatThrownBy(socket::flush).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    @Test
    @Timeout(120)
    void shouldNotAllocateOnTheHeapWhileReceivingAndSending() throws IOException {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertThat(threads.isThreadAllocatedMemorySupported()).isTrue();
        threads.setThreadAllocatedMemoryEnabled(true);
        int inFlight = 16;
        try (BatchedUdpSocket socket = open(BATCH, SLOT)) {
            Loop loop = new Loop(socket, inFlight, ByteBuffer.allocateDirect(SLOT));
            loop.run(20_000); // warm-up: let C2 compile the paths
            loop.run(20_000);
            long before = threads.getCurrentThreadAllocatedBytes();
            long datagrams = loop.run(50_000);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            double perDatagram = (double) allocated / datagrams;
            System.out.printf("BatchedUdpSocket: %d bytes allocated over %d datagrams (%.4f B/datagram), %d send errors%n",
                    allocated, datagrams, perDatagram, socket.sendErrors());
            assertThat(datagrams).isGreaterThan(50_000L);
            assertThat(perDatagram).isLessThan(1.0);
        }
    }

    /** A socket forwarding to itself: each receive() batch goes straight back out. */
    /** The kernel runs the steering program: each datagram reaches the group's socket it names. */
    @Test
    @Timeout(10)
    void shouldSteerDatagramsAcrossAGroupByTheProgram() throws IOException {
        int threads = 3;
        int count = 60;
        BatchedUdpSocket[] group = BatchedUdpSocket.openGroup(LOCALHOST, ANY_PORT, SteeringProgram.forThreads(threads), BATCH, SLOT,
                SOCKET_BUFFER, TIMEOUT_MILLIS);
        try (BatchedUdpSocket sender = open(BATCH, SLOT)) {
            assertThat(group[1].localPort()).isEqualTo(group[0].localPort());
            for (int i = 0; i < count; i++) {
                ByteBuffer frame = TestFrames.udp(TestConfigs.EE1_VNI, TestConfigs.EE1_MAC, TestConfigs.GATEWAY_MAC,
                        TestConfigs.EE1_IP, 40_000 + i, TestConfigs.RES1, 53, 4);
                sender.queue(frame, 0, frame.limit(), LOCALHOST, group[0].localPort());
                sender.flush();
            }
            for (int t = 0; t < threads; t++) {
                ByteBuffer wake = SteeringProgram.wakeDatagram(t, threads);
                sender.queue(wake, 0, wake.capacity(), LOCALHOST, group[0].localPort());
                sender.flush();
            }
            int collected = 0;
            boolean[] woken = new boolean[threads];
            while (collected < count + threads) {
                for (int t = 0; t < threads; t++) {
                    int n = group[t].receive();
                    for (int i = 0; i < n; i++) {
                        ByteBuffer rx = group[t].receiveBuffer();
                        int at = i * group[t].slotSize();
                        if (SteeringProgram.isWake(rx, at, group[t].length(i))) {
                            woken[t] = true;
                        } else {
                            int sourcePort = Short.toUnsignedInt(rx.getShort(at + 42));
                            assertThat(t).as("source port %d", sourcePort).isEqualTo(new ThreadSteering(threads).thread(sourcePort + 53));
                        }
                        collected++;
                    }
                }
            }
            assertThat(woken).containsOnly(true);
        } finally {
            for (BatchedUdpSocket socket : group) {
                socket.close();
            }
        }
    }

    private static final class Loop {
        private final BatchedUdpSocket socket;
        private final int inFlight;
        private final ByteBuffer seed;
        /** Same memory as receiveBuffer() but another object, so queue() copies from it. */
        private final ByteBuffer rxCopy;

        Loop(BatchedUdpSocket socket, int inFlight, ByteBuffer seed) {
            this.socket = socket;
            this.inFlight = inFlight;
            this.seed = seed;
            this.rxCopy = socket.receiveBuffer().duplicate();
        }

        long run(int iterations) throws IOException {
            ByteBuffer rx = socket.receiveBuffer();
            int slot = socket.slotSize();
            int port = socket.localPort();
            long datagrams = 0;
            refill();
            for (int iteration = 0; iteration < iterations; iteration++) {
                int n = socket.receive();
                if (n == 0) {
                    refill(); // loopback dropped some (unlikely): put them back in flight
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    if (!socket.truncated(i) && socket.sourceIp(i) == LOCALHOST && socket.sourcePort(i) == port) {
                        // Alternate the zero-copy path and the copy-into-scratch path (any other buffer object).
                        socket.queue((i & 1) == 0 ? rx : rxCopy, i * slot, socket.length(i), LOCALHOST, port);
                    }
                }
                datagrams += socket.flush();
            }
            // Drain so the next run starts from the same state.
            while (socket.receive() > 0) {
                // discard
            }
            return datagrams;
        }

        private void refill() throws IOException {
            for (int i = 0; i < inFlight; i++) {
                socket.queue(seed, 0, 64 + i, LOCALHOST, socket.localPort());
            }
            socket.flush();
        }
    }
}
