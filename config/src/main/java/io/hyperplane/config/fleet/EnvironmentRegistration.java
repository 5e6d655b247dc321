package io.hyperplane.config.fleet;

/**
 * A worker registering an execution environment's network with the control plane
 * ({@code POST /hyperplane/v1/execution-environments}, or a {@link RegistrationRequest} on the
 * worker's stream); answered with {@link EnvironmentRegistered}. Without an ENI it is a network
 * slot prepared ahead, which no node forwards for; registering the same id again with an ENI binds
 * it (a cold start).
 *
 * @param hostIp the worker host's underlay address, the tunnel's far end
 * @param ip     the environment's own address (100.64.0.0/10)
 * @param eniId  the Hyperplane ENI its traffic leaves by; null for a slot prepared ahead
 */
public record EnvironmentRegistration(String id, String hostIp, String ip, String mac, String eniId) {
    private static final String MESSAGE = "execution environment";

    public EnvironmentRegistration {
        Check.name(id, MESSAGE, "id");
        Check.ipv4(hostIp, MESSAGE + " " + id, "hostIp");
        Check.ipv4(ip, MESSAGE + " " + id, "ip");
        Check.mac(mac, MESSAGE + " " + id, "mac");
        if (eniId != null) {
            Check.text(eniId, MESSAGE + " " + id, "eniId");
        }
    }
}
