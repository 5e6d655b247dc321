package io.hyperplane.node;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.function.LongSupplier;

/**
 * Whether the node can talk to its control plane, as a state machine whose transitions are the
 * only thing logged: an outage is one WARN when it starts and one INFO when it ends, however many
 * retries the config poll and the heartbeat make in between (both report here).
 * <pre>
 *   state         entered when                                     logged
 *   CONNECTING    at start                                         -
 *   REACHABLE     a request is answered as the contract allows     INFO "reached" / "reachable again"
 *   UNREACHABLE   transport failure or a status it does not allow  WARN, with what the node forwards on meanwhile
 *   UNAUTHORIZED  401: the token is wrong                          ERROR, naming the token file
 * </pre>
 * Any state but CONNECTING may follow any other; nothing returns to CONNECTING.
 */
final class ControlPlaneHealth {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneHealth.class);

    enum State { CONNECTING, REACHABLE, UNREACHABLE, UNAUTHORIZED }

    private final URI controlUrl;
    private final LongSupplier appliedVersion;
    private State state = State.CONNECTING;

    ControlPlaneHealth(URI controlUrl, LongSupplier appliedVersion) {
        this.controlUrl = controlUrl;
        this.appliedVersion = appliedVersion;
    }

    /** A request was answered as the contract allows. */
    synchronized void reached() {
        transition(State.REACHABLE, null);
    }

    /** A request failed in transport or got a status the contract does not allow. */
    synchronized void unreachable(String why) {
        transition(State.UNREACHABLE, why);
    }

    /** The control plane answered 401. */
    synchronized void unauthorized(String why) {
        transition(State.UNAUTHORIZED, why);
    }

    private void transition(State next, String why) {
        if (next == state) {
            return;
        }
        State previous = state;
        state = next;
        switch (next) {
            case REACHABLE -> LOG.info(previous == State.CONNECTING ? "control plane {} reached" : "control plane {} reachable again",
                    controlUrl);
            case UNREACHABLE -> LOG.warn("control plane {} unreachable ({}); {}; retrying", controlUrl, why, meanwhile());
            case UNAUTHORIZED -> LOG.error("control plane {} refused this node's token ({}); fix the token file, it is read again"
                    + " before each retry; {}; retrying every {} s", controlUrl, why, meanwhile(), ConfigPoller.UNAUTHORIZED_RETRY_MILLIS / 1000);
            case CONNECTING -> throw new IllegalStateException("control plane state " + previous + " -> " + next + ": not a transition");
        }
    }

    private String meanwhile() {
        long version = appliedVersion.getAsLong();
        return version < 0 ? "no config yet, dropping all traffic until it answers" : "forwarding on config version " + version;
    }
}
