package io.hyperplane.bench;

import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.dataplane.flow.FlowState;
import io.hyperplane.dataplane.flow.FlowTable;
import io.hyperplane.packet.Ipv4Address;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;

/**
 * Heap bytes per tracked flow: a whole {@link Forwarder} sized for {@code flows} and filled with
 * that many distinct TCP flows (32 destinations × 32,768 ports), heap in use measured after full
 * GCs before and after. Everything the forwarder allocates counts, fixed-size tables included.
 */
final class FlowMemory {
    private FlowMemory() {
    }

    static double bytesPerFlow(int flows) {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long before = settledHeap(memory);
        Forwarder forwarder = new Forwarder(Forwarder.Settings.DEFAULTS.withFlowCapacity(flows));
        FlowTable table = forwarder.flows();
        int eni = Ipv4Address.parse("10.0.1.4");
        int ee = Ipv4Address.parse("100.64.0.11");
        int firstDestination = Ipv4Address.parse("10.0.1.10");
        for (int i = 0; i < flows; i++) {
            int port = 1024 + (i & 0x7fff);
            int destination = firstDestination + (i >>> 15);
            if (table.insert(5001, 6, ee, port, destination, 5432, 1001, eni, port, FlowState.TCP_ESTABLISHED, 350) == FlowTable.NONE) {
                throw new IllegalStateException("flow table refused flow " + i + " of " + flows);
            }
        }
        long after = settledHeap(memory);
        Reference.reachabilityFence(forwarder);
        return (after - before) / (double) flows;
    }

    private static long settledHeap(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
