package io.hyperplane.worker;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Networks as names only: slots taken, bound and discarded are recorded, no namespace is made. */
final class FakeNetworkSource implements NetworkSource {
    /** A bind as asked for. */
    record Bind(String namespace, String eniId, String legacyEniId) {
    }

    final List<String> tunnelledTo = Collections.synchronizedList(new ArrayList<>());
    final List<Bind> binds = Collections.synchronizedList(new ArrayList<>());
    final List<String> discarded = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong index = new AtomicLong();
    volatile IOException bindFailure;
    volatile IOException takeFailure;

    @Override
    public EnvironmentNetwork.Slot take(String nodeIp) throws IOException {
        if (takeFailure != null) {
            throw takeFailure;
        }
        tunnelledTo.add(nodeIp);
        long i = index.incrementAndGet();
        return new EnvironmentNetwork.Slot(i, "hp-ee-t-" + i, 1000 + (int) i, "100.64.0." + (15 + i), EnvironmentNetwork.mac(i));
    }

    @Override
    public EnvironmentNetwork bind(EnvironmentNetwork.Slot slot, String eniId, String legacyEniId) throws IOException {
        binds.add(new Bind(slot.namespace(), eniId, legacyEniId));
        if (bindFailure != null) {
            throw bindFailure;
        }
        return new EnvironmentNetwork(slot.namespace(), slot.vni(), slot.ip(), slot.mac(), eniId, legacyEniId);
    }

    @Override
    public void discard(String namespace, String ip) {
        discarded.add(namespace);
    }
}
