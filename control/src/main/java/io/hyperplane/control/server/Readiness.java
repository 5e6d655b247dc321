package io.hyperplane.control.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.fleet.WorkerRegistry;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Whether an Invoke would succeed now, as {@code GET /health} answers it: the control plane is
 * serving (it answers at all), at least one forwarder node is live, and at least one worker is.
 * Counts only, and what is missing: it is unauthenticated, so it names no tenant, function or host.
 *
 * @param liveWorkers live workers by network model ("shared", "legacy")
 * @param missing     what keeps it from being ready, empty when ready
 */
public record Readiness(boolean ready, int liveNodes, Map<String, Integer> liveWorkers, List<String> missing) {
    public static final String PATH = "/health";
    private static final ObjectMapper JSON = new ObjectMapper();

    public Readiness {
        liveWorkers = Map.copyOf(liveWorkers);
        missing = List.copyOf(missing);
        if (ready != missing.isEmpty()) {
            throw new IllegalArgumentException("ready " + ready + " with missing " + missing + ": ready exactly when nothing is missing");
        }
    }

    static Readiness of(List<NodeRegistry.NodeStatus> nodes, List<WorkerRegistry.WorkerStatus> workers) {
        Map<String, Integer> byModel = new TreeMap<>();
        workers.forEach(w -> byModel.merge(w.networkModel(), 1, Integer::sum));
        List<String> missing = new ArrayList<>();
        if (nodes.isEmpty()) {
            missing.add("no forwarder node is live (start one: hyperplane node)");
        }
        if (workers.isEmpty()) {
            missing.add("no worker is live (start one: hyperplane worker)");
        }
        return new Readiness(missing.isEmpty(), nodes.size(), byModel, missing);
    }

    /** Ready: 200, else 503 (Service Unavailable), as load balancers' health checks read it. */
    int status() {
        return ready ? 200 : 503;
    }

    String json() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
