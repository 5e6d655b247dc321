package io.hyperplane.node;

import io.hyperplane.dataplane.counters.FlowCounts;

import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Flows and NAT ports per ENI as the forwarding thread last published them, for threads that
 * report them elsewhere (the control plane's heartbeat). {@link FlowCounts} is the forwarding
 * thread's own table and must not be read concurrently; this is its copy, made once per publish
 * interval into preallocated slots: no lock, no allocation on the forwarding thread. An ENI is
 * (subnet VNI, address), so its key and its counts take more than one word; a sequence number
 * (a seqlock: odd while the writer copies) lets a reader take a consistent copy of one whole
 * publication, retrying when it raced with the next.
 */
final class PublishedEniPorts {
    private final AtomicLongArray enis;
    private final AtomicLongArray natPorts;
    private final AtomicLongArray openFlows;
    private final AtomicLong sequence = new AtomicLong();
    private int written; // forwarding thread only

    PublishedEniPorts(int capacity) {
        enis = new AtomicLongArray(capacity);
        natPorts = new AtomicLongArray(capacity);
        openFlows = new AtomicLongArray(capacity);
    }

    /** One ENI's load: open flows and NAT ports held. */
    record Load(long openFlows, long natPorts) {
    }

    /** Copies the counts in. Forwarding thread only. */
    void publish(FlowCounts counts) {
        long s = sequence.getPlain();
        sequence.setOpaque(s + 1);
        VarHandle.storeStoreFence();
        int n = 0;
        for (int slot = 0; slot < counts.slots() && n < enis.length(); slot++) {
            long eni = counts.eniAt(slot);
            if (eni != 0) {
                enis.setOpaque(n, eni);
                natPorts.setOpaque(n, counts.natPortsAt(slot));
                openFlows.setOpaque(n, counts.openOnEni(eni));
                n++;
            }
        }
        for (int i = n; i < written; i++) {
            enis.setOpaque(i, 0);
        }
        written = n;
        sequence.setRelease(s + 2);
    }

    /** The last publication: (subnet VNI, address) key as {@link FlowCounts#eniKey} to load. Any thread. */
    Map<Long, Load> read() {
        while (true) {
            long before = sequence.getAcquire();
            if ((before & 1) == 0) {
                Map<Long, Load> out = new HashMap<>();
                for (int i = 0; i < enis.length(); i++) {
                    long eni = enis.getOpaque(i);
                    if (eni == 0) {
                        break;
                    }
                    out.put(eni, new Load(openFlows.getOpaque(i), natPorts.getOpaque(i)));
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
