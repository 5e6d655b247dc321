package io.hyperplane.worker;

import io.hyperplane.config.fabric.Internet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A cold start's network attach, and its undoing: a prepared slot tunnelled to the fleet's anycast
 * address (without a plan from the control plane, to the first live forwarder node), bound to an ENI. In a VPC, the function's ENI in one of its subnets (taken in turn per
 * environment key, so a function's environments spread over its subnets); in the legacy model first an
 * ENI of the environment's own, created through the control plane and deleted with the environment.
 * Without a VPC, the service's egress ({@link Internet#SERVICE_EGRESS_ENI_ID}): the function reaches the
 * internet, and the node lets it reach nothing else. A failed attach removes what it made before it throws.
 */
final class NetworkAttach {
    private static final Logger LOG = LoggerFactory.getLogger(NetworkAttach.class);
    /**
     * Environment keys whose next subnet is remembered: far more than are cold-started at once; a key
     * forgotten (its function idle longest) starts again at its first subnet, which only shifts where
     * its next environment goes.
     */
    static final int PLACEMENTS_KEPT = 4096;

    /** The legacy model's ENI creation in a cold start: how long it took and whether EC2's rate limit held it. */
    record EniCreation(double ms, boolean throttled) {
        /** No ENI was created (the shared model, or no VPC). */
        static final EniCreation NONE = new EniCreation(Double.NaN, false);
    }

    /** An attached network, and the ENI creation that was part of its attach. */
    record Attached(EnvironmentNetwork network, EniCreation eniCreation) {
        Attached {
            Objects.requireNonNull(network, "network");
            Objects.requireNonNull(eniCreation, "eniCreation");
        }
    }

    /** Where environments tunnel to (the fleet's anycast address, or the live nodes), asked for now when none is known. */
    interface LiveNodes {
        List<String> live() throws IOException, InterruptedException;
    }

    private final WorkerSettings.NetworkModel model;
    private final NetworkSource networks;
    private final ControlPlane control;
    private final LiveNodes nodes;
    private final WorkerMetrics metrics;
    private final Map<String, Integer> nextSubnet = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
            return size() > PLACEMENTS_KEPT;
        }
    };

    NetworkAttach(WorkerSettings.NetworkModel model, NetworkSource networks, ControlPlane control, LiveNodes nodes, WorkerMetrics metrics) {
        this.model = model;
        this.networks = networks;
        this.control = control;
        this.nodes = nodes;
        this.metrics = metrics;
    }

    /** Attaches a network for an environment of {@code call}'s function. */
    Attached attach(FunctionCall call) throws IOException, InterruptedException, ServiceError {
        FunctionConfig function = call.function();
        List<String> live = nodes.live();
        if (live.isEmpty()) {
            throw new ServiceError("ServiceException", 500, function.inVpc() ? "No forwarder node is live: the function's VPC cannot be reached."
                    : "No forwarder node is live: the function cannot reach the internet.");
        }
        if (!function.inVpc()) {
            return new Attached(bind(live, Internet.SERVICE_EGRESS_ENI_ID, null), EniCreation.NONE);
        }
        FunctionConfig.Subnet subnet = function.subnets().get(placement(function.environmentKey(), function.subnets().size()));
        String eni = subnet.eniId();
        String legacy = null;
        EniCreation creation = EniCreation.NONE;
        if (model == WorkerSettings.NetworkModel.LEGACY) {
            Created created = createLegacyEni(function, subnet);
            eni = legacy = created.eniId();
            creation = new EniCreation(created.ms(), created.throttled());
        }
        try {
            return new Attached(bind(live, eni, legacy), creation);
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (legacy != null) {
                deleteLegacyEni(legacy);
            }
            throw e;
        }
    }

    /** A slot tunnelled to the first live node, bound to {@code eni}; a slot that fails to bind is discarded. */
    private EnvironmentNetwork bind(List<String> live, String eni, String legacy) throws IOException, InterruptedException {
        EnvironmentNetwork.Slot slot = null;
        try {
            long a0 = System.nanoTime();
            slot = networks.take(live.getFirst());
            long a1 = System.nanoTime();
            EnvironmentNetwork network = networks.bind(slot, eni, legacy);
            metrics.attached((a1 - a0) / 1e6, (System.nanoTime() - a1) / 1e6);
            return network;
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (slot != null) {
                networks.discard(slot.namespace(), slot.ip());
            }
            throw e;
        }
    }

    /** Removes an environment's network: its namespace (the tunnel goes with it), its registration, and a legacy ENI. */
    void detach(EnvironmentNetwork network) {
        networks.discard(network.namespace(), network.ip());
        if (network.legacyEniId() != null) {
            deleteLegacyEni(network.legacyEniId());
        }
    }

    /** The index of the subnet the key's next environment goes to: its subnets in turn. */
    private int placement(String key, int subnets) {
        synchronized (nextSubnet) {
            int turn = nextSubnet.getOrDefault(key, 0);
            nextSubnet.put(key, turn + 1);
            return Math.floorMod(turn, subnets);
        }
    }

    /** A created ENI and how long its creation took. */
    private record Created(String eniId, boolean throttled, double ms) {
    }

    /** Legacy model: the environment's own ENI, created in the cold start's path (rate-limited like EC2). */
    private Created createLegacyEni(FunctionConfig function, FunctionConfig.Subnet subnet) throws IOException, InterruptedException, ServiceError {
        long c0 = System.nanoTime();
        try {
            ControlPlane.LegacyEni created = control.createLegacyEni(function.accountId(), function.functionName(), subnet.subnetId(),
                    subnet.securityGroupIds());
            metrics.legacyEniCreated(created.throttled());
            return new Created(created.eniId(), created.throttled(), (System.nanoTime() - c0) / 1e6);
        } catch (ControlPlane.Refused e) {
            metrics.legacyEniRefused("EC2ThrottledException".equals(e.errorType()));
            throw new ServiceError(e.errorType() == null ? "ServiceException" : e.errorType(), e.status(), e.getMessage());
        } finally {
            metrics.legacyEniCreation((System.nanoTime() - c0) / 1e6);
        }
    }

    private void deleteLegacyEni(String eniId) {
        try {
            control.deleteLegacyEni(eniId);
        } catch (IOException e) {
            LOG.warn("deleting legacy ENI {}: {}", eniId, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
