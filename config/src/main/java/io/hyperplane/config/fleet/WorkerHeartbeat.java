package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.net.URI;

/**
 * A worker registering itself, and keeping itself registered, about once a second
 * ({@code PUT /hyperplane/v1/workers/NAME}); answered with {@link WorkerHeartbeatAnswer}.
 *
 * @param url          where the control plane reaches the worker's {@code /invoke}
 * @param networkModel "shared" (Hyperplane ENIs; the default when left out) or "legacy" (an ENI per environment)
 * @param environments the execution environments it runs now
 */
public record WorkerHeartbeat(URI url, String underlayIp, String networkModel, @JsonProperty(required = true) int environments) {
    /** The network model of a worker that names none. */
    public static final String SHARED = "shared";
    private static final String MESSAGE = "worker heartbeat";

    public WorkerHeartbeat {
        Check.url(url, MESSAGE, "url");
        Check.ipv4(underlayIp, MESSAGE, "underlayIp");
        networkModel = networkModel == null ? SHARED : Check.text(networkModel, MESSAGE, "networkModel");
        Check.atLeast(environments, 0, MESSAGE, "environments");
    }
}
