package io.hyperplane.node;

import io.hyperplane.dataplane.counters.NatGatewayCounters;
import io.hyperplane.dataplane.counters.NatGatewayMetric;

import java.lang.invoke.VarHandle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * NAT gateways' metrics as the forwarding thread last published them, for the heartbeat thread:
 * {@link NatGatewayCounters} belongs to the forwarding thread, so it copies them once per publish
 * interval into preallocated slots (the ids are references, the figures longs: no allocation),
 * under a sequence number that a reader retries on, as {@link PublishedEniPorts} does.
 */
final class PublishedNatGateways {
    private static final int METRICS = NatGatewayMetric.VALUES.length;

    private final AtomicReferenceArray<String> ids;
    private final AtomicLongArray values;
    private final AtomicLong sequence = new AtomicLong();
    private int written; // forwarding thread only

    PublishedNatGateways(int capacity) {
        ids = new AtomicReferenceArray<>(capacity);
        values = new AtomicLongArray(capacity * METRICS);
    }

    /** Copies the figures in. Forwarding thread only. */
    void publish(NatGatewayCounters counters) {
        long s = sequence.getPlain();
        sequence.setOpaque(s + 1);
        VarHandle.storeStoreFence();
        int n = Math.min(counters.size(), ids.length());
        for (int g = 0; g < n; g++) {
            ids.setOpaque(g, counters.id(g));
            for (NatGatewayMetric metric : NatGatewayMetric.VALUES) {
                values.setOpaque(g * METRICS + metric.id(), counters.get(g, metric));
            }
        }
        for (int g = n; g < written; g++) {
            ids.setOpaque(g, null);
        }
        written = n;
        sequence.setRelease(s + 2);
    }

    /** The last publication: NAT gateway id to its metrics by CloudWatch name. Any thread. */
    Map<String, Map<String, Long>> read() {
        while (true) {
            long before = sequence.getAcquire();
            if ((before & 1) == 0) {
                Map<String, Map<String, Long>> out = new LinkedHashMap<>();
                for (int g = 0; g < ids.length(); g++) {
                    String id = ids.getOpaque(g);
                    if (id == null) {
                        break;
                    }
                    Map<String, Long> metrics = new LinkedHashMap<>();
                    for (NatGatewayMetric metric : NatGatewayMetric.VALUES) {
                        metrics.put(metric.label(), values.getOpaque(g * METRICS + metric.id()));
                    }
                    out.put(id, metrics);
                }
                VarHandle.loadLoadFence();
                if (sequence.getOpaque() == before) {
                    return out;
                }
            }
            Thread.onSpinWait();
        }
    }
}
