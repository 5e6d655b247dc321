package io.hyperplane.dataplane.counters;

import io.hyperplane.dataplane.policy.CompiledConfig;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link NatGatewayMetric}s per NAT gateway of the running config, owned by one forwarding
 * thread: one {@code long[]} indexed by (config index, metric), incremented without locks. A new
 * config brings a new instance ({@link #carriedInto}), made off the packet path when the config
 * is installed, that keeps each NAT gateway's figures by its id; a NAT gateway that left the
 * config takes its figures with it. Ids are kept as bytes too so a publisher can copy them out
 * without allocating.
 */
public final class NatGatewayCounters {
    private static final int METRICS = NatGatewayMetric.VALUES.length;

    private final String[] ids;
    private final byte[][] idBytes;
    private final long[] values;

    private NatGatewayCounters(CompiledConfig config) {
        int n = config == null ? 0 : config.natGatewayCount();
        ids = new String[n];
        idBytes = new byte[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = config.natGatewayId(i);
            idBytes[i] = ids[i].getBytes(StandardCharsets.UTF_8);
        }
        values = new long[n * METRICS];
    }

    /** No NAT gateways: before the first config. */
    public static NatGatewayCounters empty() {
        return new NatGatewayCounters(null);
    }

    /** Counters for {@code config}'s NAT gateways, with the figures this instance holds for those it already had. */
    public NatGatewayCounters carriedInto(CompiledConfig config) {
        NatGatewayCounters next = new NatGatewayCounters(config);
        Map<String, Integer> old = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            old.put(ids[i], i);
        }
        for (int i = 0; i < next.ids.length; i++) {
            Integer was = old.get(next.ids[i]);
            if (was != null) {
                System.arraycopy(values, was * METRICS, next.values, i * METRICS, METRICS);
            }
        }
        return next;
    }

    public void increment(int nat, NatGatewayMetric metric) {
        values[nat * METRICS + metric.id()]++;
    }

    public void add(int nat, NatGatewayMetric metric, long delta) {
        values[nat * METRICS + metric.id()] += delta;
    }

    public long get(int nat, NatGatewayMetric metric) {
        return values[nat * METRICS + metric.id()];
    }

    /** The figure for the NAT gateway {@code id}; 0 when it is not in the running config. */
    public long get(String id, NatGatewayMetric metric) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i].equals(id)) {
                return get(i, metric);
            }
        }
        return 0;
    }

    public int size() {
        return ids.length;
    }

    public String id(int nat) {
        return ids[nat];
    }

    /** The id as UTF-8; the caller must not change the array. */
    public byte[] idBytes(int nat) {
        return idBytes[nat];
    }
}
