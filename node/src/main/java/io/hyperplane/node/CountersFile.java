package io.hyperplane.node;

import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.linux.PrivateFiles;
import io.hyperplane.dataplane.counters.Counters;
import io.hyperplane.dataplane.counters.FlowCounts;
import io.hyperplane.dataplane.counters.NatGatewayCounters;
import io.hyperplane.dataplane.counters.NatGatewayMetric;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Malformation;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A node's counters in a memory-mapped file, as Aeron's CnC file exposes a media driver's: each
 * forwarding thread copies its counters in once per publish interval; {@code hyperplane stat}
 * and tests map the same file read-only. Nothing listens on a port for it.
 * <pre>
 *  0   magic "HPCNTRS1"           8   layout version (int), counter slots N (int)
 *  16  pid (long)                 24  started, epoch ms (long)
 *  32  heartbeat, epoch ms (long) 40  malformation slots K (int), ENI slots M (int)
 *  48  node name (64 bytes, UTF-8, zero padded)
 *  112 forwarding threads T (int), 12 bytes unused
 *  128 the node's totals: N counter records, then K malformation records: value (long), id (int),
 *      label length (int), label (48 bytes)  -- 64 bytes each
 *  ... M ENI records: ip (int), in use (int), NAT ports in use (long)  -- 16 bytes each
 *  ... NAT gateways: G slots (int), J metrics (int), J metric labels (32 bytes each), then G records:
 *      id (32 bytes, UTF-8, zero padded; empty = unused), J values (long)
 *  ... T thread records: the N counter and K malformation values (long) of that thread, in the
 *      order (and with the labels) of the totals
 * </pre>
 * One writer per region: thread {@code t} writes its thread record; the totals are written by the
 * only thread when there is one, else summed from the thread records by {@link #publishTotals}
 * off the forwarding threads. Labels travel in the file so an older {@code stat} can show a newer
 * node's counters.
 */
public final class CountersFile implements AutoCloseable {
    private static final byte[] MAGIC = "HPCNTRS1".getBytes(StandardCharsets.US_ASCII);
    private static final int LAYOUT_VERSION = 4; // 2: an ENI record names its subnet's VNI; 3: NAT gateways; 4: threads
    private static final int HEADER = 128;
    private static final int THREADS_OFFSET = 112;
    private static final int RECORD = 64;
    private static final int LABEL_MAX = 48;
    private static final int ENI_RECORD = 16;
    private static final int NAME_OFFSET = 48;
    private static final int NAME_MAX = 64;
    public static final int ENI_SLOTS = 256;
    /** NAT gateways shown; like ENI_SLOTS, what a node of the lab and a few tenants serves, with room. */
    public static final int NAT_GATEWAY_SLOTS = 256;
    private static final int NAT_LABEL = 32;
    private static final int NAT_ID_MAX = 32;
    private static final int NAT_METRICS = NatGatewayMetric.VALUES.length;
    private static final int NAT_RECORD = NAT_ID_MAX + NAT_METRICS * 8;

    private final FileChannel channel;
    private final MappedByteBuffer map;
    private final int counterSlots;
    private final int malformationSlots;
    private final int eniBase;
    private final int natBase;
    private final int threadBase;
    private final int threads;
    private int natWritten;
    /** Written by {@link #publishTotals} only: its sums, made once. */
    private final long[] totals;

    private CountersFile(FileChannel channel, MappedByteBuffer map, int counterSlots, int malformationSlots, int threads) {
        this.channel = channel;
        this.map = map;
        this.counterSlots = counterSlots;
        this.malformationSlots = malformationSlots;
        this.threads = threads;
        this.eniBase = HEADER + (counterSlots + malformationSlots) * RECORD;
        this.natBase = eniBase + ENI_SLOTS * ENI_RECORD;
        this.threadBase = natBase + 8 + NAT_METRICS * NAT_LABEL + NAT_GATEWAY_SLOTS * NAT_RECORD;
        this.totals = new long[counterSlots + malformationSlots];
    }

    /** A file for a node with one forwarding thread. */
    public static CountersFile create(Path path, String nodeName) throws IOException {
        return create(path, nodeName, 1);
    }

    /** Creates (or truncates) the file for a node of {@code threads} forwarding threads and writes its fixed parts. */
    public static CountersFile create(Path path, String nodeName, int threads) throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("threads " + threads + ": must be >= 1");
        }
        int n = Counter.maxId() + 1;
        int k = Malformation.values().length;
        int natAt = HEADER + (n + k) * RECORD + ENI_SLOTS * ENI_RECORD;
        int threadsAt = natAt + 8 + NAT_METRICS * NAT_LABEL + NAT_GATEWAY_SLOTS * NAT_RECORD;
        int size = threadsAt + threads * (n + k) * 8;
        if (path.getParent() != null) {
            PrivateFiles.createDirectories(path.getParent());
        }
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
        map.put(0, MAGIC);
        map.putInt(8, LAYOUT_VERSION);
        map.putInt(12, n);
        map.putLong(16, ProcessHandle.current().pid());
        map.putLong(24, System.currentTimeMillis());
        map.putInt(40, k);
        map.putInt(44, ENI_SLOTS);
        map.putInt(THREADS_OFFSET, threads);
        byte[] name = nodeName.getBytes(StandardCharsets.UTF_8);
        map.put(NAME_OFFSET, name, 0, Math.min(name.length, NAME_MAX));
        for (int id = 0; id < n; id++) {
            Counter c = Counter.byId(id);
            label(map, HEADER + id * RECORD, id, c == null ? "unused-" + id : c.label());
        }
        for (Malformation m : Malformation.values()) {
            label(map, HEADER + (n + m.ordinal()) * RECORD, m.ordinal(), "malformed-" + m.name().toLowerCase().replace('_', '-'));
        }
        map.putInt(natAt, NAT_GATEWAY_SLOTS);
        map.putInt(natAt + 4, NAT_METRICS);
        for (NatGatewayMetric metric : NatGatewayMetric.VALUES) {
            byte[] bytes = metric.label().getBytes(StandardCharsets.UTF_8);
            map.put(natAt + 8 + metric.id() * NAT_LABEL, bytes, 0, Math.min(bytes.length, NAT_LABEL));
        }
        return new CountersFile(channel, map, n, k, threads);
    }

    private static void label(ByteBuffer map, int at, int id, String label) {
        byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(bytes.length, LABEL_MAX);
        map.putInt(at + 8, id);
        map.putInt(at + 12, length);
        map.put(at + 16, bytes, 0, length);
    }

    /** Copies the counters in; called by the forwarding thread, allocation free. */
    public void publish(Counters counters, FlowCounts flowCounts, NatGatewayCounters natGateways, long nowEpochMillis) {
        for (int id = 0; id < counterSlots; id++) {
            Counter c = Counter.byId(id);
            if (c != null) {
                map.putLong(HEADER + id * RECORD, counters.get(c));
            }
        }
        Malformation[] kinds = Malformation.VALUES;
        for (int i = 0; i < malformationSlots && i < kinds.length; i++) {
            map.putLong(HEADER + (counterSlots + i) * RECORD, counters.malformedCount(kinds[i]));
        }
        int written = 0;
        for (int s = 0; s < flowCounts.slots() && written < ENI_SLOTS; s++) {
            long eni = flowCounts.eniAt(s);
            if (eni != 0) {
                int at = eniBase + written * ENI_RECORD;
                map.putInt(at, FlowCounts.ipOf(eni));
                map.putInt(at + 4, FlowCounts.vniOf(eni)); // never 0: a used record
                map.putLong(at + 8, flowCounts.natPortsAt(s));
                written++;
            }
        }
        for (int i = written; i < ENI_SLOTS && map.getInt(eniBase + i * ENI_RECORD + 4) != 0; i++) {
            map.putInt(eniBase + i * ENI_RECORD + 4, 0); // an ENI with no flows left is not shown
        }
        int records = natBase + 8 + NAT_METRICS * NAT_LABEL;
        int shown = Math.min(natGateways.size(), NAT_GATEWAY_SLOTS);
        for (int g = 0; g < shown; g++) {
            int at = records + g * NAT_RECORD;
            byte[] id = natGateways.idBytes(g);
            int length = Math.min(id.length, NAT_ID_MAX);
            map.put(at, id, 0, length);
            for (int i = length; i < NAT_ID_MAX; i++) {
                map.put(at + i, (byte) 0);
            }
            for (NatGatewayMetric metric : NatGatewayMetric.VALUES) {
                map.putLong(at + NAT_ID_MAX + metric.id() * 8, natGateways.get(g, metric));
            }
        }
        for (int g = shown; g < natWritten; g++) {
            map.put(records + g * NAT_RECORD, (byte) 0); // a NAT gateway that left the config is not shown
        }
        natWritten = shown;
        map.putLong(32, nowEpochMillis);
    }

    /** Copies one thread's counters into its thread record; called by that thread, allocation free. */
    public void publishThread(int thread, Counters counters) {
        int at = threadBase + Objects.checkIndex(thread, threads) * (counterSlots + malformationSlots) * 8;
        for (int id = 0; id < counterSlots; id++) {
            Counter c = Counter.byId(id);
            if (c != null) {
                map.putLong(at + id * 8, counters.get(c));
            }
        }
        Malformation[] kinds = Malformation.VALUES;
        for (int i = 0; i < malformationSlots && i < kinds.length; i++) {
            map.putLong(at + (counterSlots + i) * 8, counters.malformedCount(kinds[i]));
        }
    }

    /**
     * The node's totals when it has several threads: counters summed from the thread records (the
     * config version is the oldest any thread runs, the replication lag the largest any thread has), ENIs and NAT gateways as the threads' summed
     * publications give them. Called by one thread that is not a forwarding thread.
     */
    public void publishTotals(Map<Long, PublishedEniPorts.Load> enis, Map<String, Map<String, Long>> natGateways, long nowEpochMillis) {
        int values = counterSlots + malformationSlots;
        Arrays.fill(totals, 0);
        totals[Counter.CONFIG_VERSION.id()] = Long.MAX_VALUE;
        for (int t = 0; t < threads; t++) {
            int at = threadBase + t * values * 8;
            for (int i = 0; i < values; i++) {
                long v = map.getLong(at + i * 8);
                if (i == Counter.CONFIG_VERSION.id()) {
                    totals[i] = Math.min(totals[i], v);
                } else if (i == Counter.REPLICATION_LAG_MS.id()) {
                    totals[i] = Math.max(totals[i], v);
                } else {
                    totals[i] = totals[i] + v;
                }
            }
        }
        for (int i = 0; i < values; i++) {
            map.putLong(HEADER + i * RECORD, totals[i]);
        }
        int written = 0;
        for (Map.Entry<Long, PublishedEniPorts.Load> e : enis.entrySet()) {
            if (written == ENI_SLOTS) {
                break;
            }
            int at = eniBase + written * ENI_RECORD;
            map.putInt(at, FlowCounts.ipOf(e.getKey()));
            map.putInt(at + 4, FlowCounts.vniOf(e.getKey()));
            map.putLong(at + 8, e.getValue().natPorts());
            written++;
        }
        for (int i = written; i < ENI_SLOTS && map.getInt(eniBase + i * ENI_RECORD + 4) != 0; i++) {
            map.putInt(eniBase + i * ENI_RECORD + 4, 0);
        }
        int records = natBase + 8 + NAT_METRICS * NAT_LABEL;
        int shown = 0;
        for (Map.Entry<String, Map<String, Long>> gateway : natGateways.entrySet()) {
            if (shown == NAT_GATEWAY_SLOTS) {
                break;
            }
            int at = records + shown * NAT_RECORD;
            byte[] id = gateway.getKey().getBytes(StandardCharsets.UTF_8);
            int length = Math.min(id.length, NAT_ID_MAX);
            map.put(at, new byte[NAT_ID_MAX]).put(at, id, 0, length);
            for (NatGatewayMetric metric : NatGatewayMetric.VALUES) {
                map.putLong(at + NAT_ID_MAX + metric.id() * 8, gateway.getValue().getOrDefault(metric.label(), 0L));
            }
            shown++;
        }
        for (int g = shown; g < natWritten; g++) {
            map.put(records + g * NAT_RECORD, (byte) 0);
        }
        natWritten = shown;
        map.putLong(32, nowEpochMillis);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /**
     * What a reader sees: counters by label in id order, malformation breakdown, NAT ports per ENI,
     * and per NAT gateway id its CloudWatch-named metrics.
     */
    public record Snapshot(String node, long pid, long startedMillis, long heartbeatMillis,
                           Map<String, Long> counters, Map<String, Long> malformations, Map<String, Long> natPortsByEni,
                           Map<String, Map<String, Long>> natGateways, List<Map<String, Long>> threads) {
        /** One thread's counter, by label (its malformation breakdown under the malformation labels). */
        public long thread(int thread, Counter counter) {
            return threads.get(thread).get(counter.label());
        }

        public long get(String label) {
            Long v = counters.get(label);
            if (v == null) {
                throw new IllegalArgumentException("no counter '" + label + "' in " + counters.keySet());
            }
            return v;
        }

        public long get(Counter counter) {
            return get(counter.label());
        }

        public boolean processAlive() {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    public static Snapshot read(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < HEADER || !Arrays.equals(bytes, 0, 8, MAGIC, 0, 8)) {
            throw new IOException(path + ": not a hyperplane counters file");
        }
        if (b.getInt(8) != LAYOUT_VERSION) {
            throw new IOException(path + ": counters layout version " + b.getInt(8) + ", this build reads " + LAYOUT_VERSION);
        }
        int n = b.getInt(12);
        int k = b.getInt(40);
        int m = b.getInt(44);
        int nameLength = 0;
        while (nameLength < NAME_MAX && bytes[NAME_OFFSET + nameLength] != 0) {
            nameLength++;
        }
        String name = new String(bytes, NAME_OFFSET, nameLength, StandardCharsets.UTF_8);
        Map<String, Long> counters = records(b, HEADER, n);
        Map<String, Long> malformations = records(b, HEADER + n * RECORD, k);
        Map<String, Long> enis = new LinkedHashMap<>();
        int base = HEADER + (n + k) * RECORD;
        for (int i = 0; i < m; i++) {
            int at = base + i * ENI_RECORD;
            int vni = b.getInt(at + 4);
            if (vni != 0) {
                enis.put(eniLabel(vni, b.getInt(at)), b.getLong(at + 8));
            }
        }
        int natAt = base + m * ENI_RECORD;
        int threadsAt = natAt + 8 + b.getInt(natAt + 4) * NAT_LABEL + b.getInt(natAt) * (NAT_ID_MAX + b.getInt(natAt + 4) * 8);
        List<Map<String, Long>> threads = new ArrayList<>();
        for (int t = 0; t < b.getInt(THREADS_OFFSET); t++) {
            Map<String, Long> values = new LinkedHashMap<>();
            int at = threadsAt + t * (n + k) * 8;
            int i = 0;
            for (String label : counters.keySet()) {
                values.put(label, b.getLong(at + i++ * 8));
            }
            for (String label : malformations.keySet()) {
                values.put(label, b.getLong(at + i++ * 8));
            }
            threads.add(values);
        }
        return new Snapshot(name, b.getLong(16), b.getLong(24), b.getLong(32), counters, malformations, enis,
                natGateways(bytes, b, natAt), threads);
    }

    private static Map<String, Map<String, Long>> natGateways(byte[] bytes, ByteBuffer b, int base) {
        int slots = b.getInt(base);
        int metrics = b.getInt(base + 4);
        String[] labels = new String[metrics];
        for (int j = 0; j < metrics; j++) {
            labels[j] = zeroPadded(bytes, base + 8 + j * NAT_LABEL, NAT_LABEL);
        }
        int records = base + 8 + metrics * NAT_LABEL;
        int record = NAT_ID_MAX + metrics * 8;
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        for (int g = 0; g < slots; g++) {
            int at = records + g * record;
            String id = zeroPadded(bytes, at, NAT_ID_MAX);
            if (!id.isEmpty()) {
                Map<String, Long> values = new LinkedHashMap<>();
                for (int j = 0; j < metrics; j++) {
                    values.put(labels[j], b.getLong(at + NAT_ID_MAX + j * 8));
                }
                out.put(id, values);
            }
        }
        return out;
    }

    private static String zeroPadded(byte[] bytes, int at, int max) {
        int length = 0;
        while (length < max && bytes[at + length] != 0) {
            length++;
        }
        return new String(bytes, at, length, StandardCharsets.UTF_8);
    }

    /** How an ENI is named in {@link Snapshot#natPortsByEni}: its address and its subnet's VNI (addresses repeat across VPCs). */
    public static String eniLabel(int subnetVni, int ip) {
        return Ipv4Address.format(ip) + " vni " + subnetVni;
    }

    private static Map<String, Long> records(ByteBuffer b, int base, int count) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            int at = base + i * RECORD;
            int length = Math.min(b.getInt(at + 12), LABEL_MAX);
            byte[] label = new byte[length];
            b.get(at + 16, label);
            out.put(new String(label, StandardCharsets.UTF_8), b.getLong(at));
        }
        return out;
    }
}
