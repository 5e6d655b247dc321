package io.hyperplane.node;

import io.hyperplane.config.fleet.FleetPlan;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A node's connection to its control plane: the configuration stream (or long poll) and the heartbeat, each on a
 * daemon platform thread of its own so that a 20-second poll never delays a heartbeat, over one
 * HTTP/1.1 client. The forwarding thread never waits for any of it.
 * <p>
 * {@link #close()} interrupts both (cancelling their requests), then says goodbye with a DELETE
 * so that the control plane stops tunnelling to this node. Best effort, bounded by
 * {@link #LEAVE_TIMEOUT}: a node whose control plane is down must still stop promptly.
 */
final class ControlPlaneClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneClient.class);
    private static final Duration LEAVE_TIMEOUT = Duration.ofSeconds(2);
    /** A control plane that takes longer to accept a connection is as good as down; the backoff retries. */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** Both threads end within a request's cancellation; this bounds close() if one does not. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(2);

    private final HttpClient http;
    private final HttpClient streamHttp;
    private final ControlPlaneApi api;
    private final HeartbeatSender heartbeat;
    private final ConfigPoller poller;
    private final Thread pollerThread;
    private final Thread heartbeatThread;
    private final String name;

    /**
     * @param port          the node's bound UDP port, as registered
     * @param everyHeartbeat runs on the heartbeat thread about once per interval: other slow-path sampling
     * @throws IOException when the token file cannot be read
     */
    ControlPlaneClient(NodeSettings settings, int port, ForwardingThreads agent, SnapshotCache cache, Runnable everyHeartbeat,
                       Consumer<FleetPlan> fleet)
            throws IOException {
        BearerToken token = BearerToken.read(settings.tokenFile());
        this.name = settings.name();
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();
        // The stream's messages are handled on its client's selector thread: one hand-off fewer per message.
        this.streamHttp = HttpClient.newBuilder().executor(Runnable::run).connectTimeout(CONNECT_TIMEOUT).build();
        this.api = new ControlPlaneApi(http, streamHttp, settings.controlUrl(), name, token);
        ControlPlaneHealth health = new ControlPlaneHealth(settings.controlUrl(), agent::appliedVersion);
        ConfigPoller poller = new ConfigPoller(api, health, cache, agent::offer, agent::configRejected, agent.applied(),
                settings.controlWait(), agent::appliedVersion);
        this.heartbeat = new HeartbeatSender(api, health, agent, settings.underlayIp(), port, settings.netns(),
                settings.heartbeatInterval().toNanos(), everyHeartbeat, fleet);
        this.poller = poller;
        this.pollerThread = Thread.ofPlatform().name("hp-control-" + name).daemon().unstarted(poller);
        this.heartbeatThread = Thread.ofPlatform().name("hp-heartbeat-" + name).daemon().unstarted(heartbeat);
    }

    void start() {
        pollerThread.start();
        heartbeatThread.start();
    }

    @Override
    public void close() {
        pollerThread.interrupt();
        heartbeatThread.interrupt();
        try {
            // Joined before leaving, so that a heartbeat in flight cannot register the node again after the DELETE.
            pollerThread.join(STOP_TIMEOUT);
            heartbeatThread.join(STOP_TIMEOUT);
            poller.flushCache();
            api.leave(LEAVE_TIMEOUT);
            LOG.info("node {} left the control plane", name);
        } catch (IOException e) {
            LOG.warn("node {} could not tell the control plane it is leaving: {}", name, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            http.shutdownNow();
            streamHttp.shutdownNow();
        }
    }
}
