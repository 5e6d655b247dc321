package io.hyperplane.worker;

import java.io.IOException;

/**
 * Where a cold start's network namespace comes from: {@link NetworkSlots} in the worker, a fake in
 * tests. Every namespace is journaled before it exists.
 */
interface NetworkSource {

    /** A network prepared for a function (namespace, VNI, tunnel to {@code nodeIp}), not yet bound to an ENI. */
    EnvironmentNetwork.Slot take(String nodeIp) throws IOException, InterruptedException;

    /**
     * Binds a taken slot to {@code eniId} and returns once every live node runs it ({@code legacyEniId}: the
     * environment's own ENI in the legacy model, deleted with it; null otherwise).
     */
    EnvironmentNetwork bind(EnvironmentNetwork.Slot slot, String eniId, String legacyEniId) throws IOException, InterruptedException;

    /** Removes a namespace and its registration, and gives its address back ({@code ip} null: it has none). */
    void discard(String namespace, String ip);
}
