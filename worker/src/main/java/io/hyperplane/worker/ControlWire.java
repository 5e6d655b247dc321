package io.hyperplane.worker;

import io.hyperplane.config.fleet.LegacyEniCreated;
import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;

import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * {@link ControlPlane} over the fleet API's wire: the one class that calls {@link ControlClient}, which
 * sends and reads the fleet's records ({@code io.hyperplane.config.fleet}) over HTTP and the control stream.
 */
final class ControlWire implements ControlPlane {
    private final ControlClient client;

    private ControlWire(ControlClient client) {
        this.client = client;
    }

    /** The control plane at {@code control}, spoken to with the fleet's bearer {@code token} as the worker {@code workerName}. */
    static ControlWire connect(URI control, String token, String workerName) {
        return new ControlWire(new ControlClient(control, token, workerName));
    }

    @Override
    public WorkerHeartbeatAnswer heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) throws IOException, InterruptedException {
        return client.heartbeat(name, url, underlayIp, networkModel, environments);
    }

    @Override
    public void leave(String name) throws IOException, InterruptedException {
        client.leave(name);
    }

    @Override
    public int registerEnvironment(String id, String hostIp, String ip, String mac, String eniId, boolean waitForNodes)
            throws IOException, InterruptedException {
        return client.registerEnvironment(id, hostIp, ip, mac, eniId, waitForNodes);
    }

    @Override
    public void deregisterEnvironment(String id) throws IOException, InterruptedException {
        client.deregisterEnvironment(id);
    }

    @Override
    public byte[] code(String account, String function, String version) throws IOException, InterruptedException {
        return client.code(account, function, version);
    }

    @Override
    public LegacyEni createLegacyEni(String account, String function, String subnetId, List<String> groups) throws IOException, InterruptedException {
        LegacyEniCreated created;
        try {
            created = client.createLegacyEni(account, function, subnetId, groups);
        } catch (ControlClient.ControlException e) {
            throw new Refused(e.status, e.errorType, e.getMessage());
        }
        return new LegacyEni(created.eniId(), created.throttled());
    }

    @Override
    public void deleteLegacyEni(String eniId) throws IOException, InterruptedException {
        client.deleteLegacyEni(eniId);
    }

    @Override
    public BindsAnswered bindsAnswered() {
        return new BindsAnswered(client.registeredOverStream.get(), client.registeredOverHttp.get());
    }

    @Override
    public void closeStream() {
        client.closeStream();
    }
}
