package io.hyperplane.worker;

import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;

import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * What the worker asks of the control plane (the fleet API, bearer token): membership, environment
 * registrations, code and legacy ENIs. {@link ControlWire} is the one implementation over the wire;
 * tests use fakes.
 */
interface ControlPlane {

    /** A legacy ENI made for one environment; {@code throttled}: its creation waited for EC2's rate limit. */
    record LegacyEni(String eniId, boolean throttled) {
        public LegacyEni {
            if (eniId == null || eniId.isEmpty()) {
                throw new IllegalArgumentException("a legacy ENI needs its id");
            }
        }
    }

    /** Cold-start registrations answered over the control stream, and over HTTP (no stream, or it dropped). */
    record BindsAnswered(long overControlStream, long overHttp) {
    }

    /** The control plane refused a request: its HTTP status and Lambda's error type (null when it named none). */
    final class Refused extends IOException {
        private final int status;
        private final String errorType;

        Refused(int status, String errorType, String message) {
            super(message);
            this.status = status;
            this.errorType = errorType;
        }

        int status() {
            return status;
        }

        String errorType() {
            return errorType;
        }
    }

    /** Registers or refreshes the worker; returns the live forwarder nodes and the fleet's plan. */
    WorkerHeartbeatAnswer heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) throws IOException, InterruptedException;

    void leave(String name) throws IOException, InterruptedException;

    /**
     * Registers an environment (without an ENI: a slot prepared ahead) and returns its VNI; with
     * {@code waitForNodes}, only once every live node runs a configuration that has it.
     */
    int registerEnvironment(String id, String hostIp, String ip, String mac, String eniId, boolean waitForNodes) throws IOException, InterruptedException;

    /** Removes an environment's registration; one that is not registered is no error. */
    void deregisterEnvironment(String id) throws IOException, InterruptedException;

    byte[] code(String account, String function, String version) throws IOException, InterruptedException;

    /** Legacy model: an ENI of the environment's own; throws {@link Refused} with Lambda's error type on refusal. */
    LegacyEni createLegacyEni(String account, String function, String subnetId, List<String> groups) throws IOException, InterruptedException;

    void deleteLegacyEni(String eniId) throws IOException, InterruptedException;

    BindsAnswered bindsAnswered();

    /** Closes the control stream (requests still waiting on it fail). */
    void closeStream();
}
