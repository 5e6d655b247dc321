package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.packet.Ipv4Address;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Registers the node with the control plane and keeps it registered: a PUT every heartbeat
 * interval, and one at once when the forwarding thread switches to a new config ({@link #wake()}),
 * because the control plane waits for {@code appliedVersion} on every node before it calls a new
 * ENI programmed. Reports only what the forwarding thread has published: the config it actually
 * runs on and NAT ports per ENI as of its last publish interval. Runs on its own thread until
 * interrupted; failures are retried with the same backoff and 401 rule as {@link ConfigPoller}.
 */
final class HeartbeatSender implements Runnable {
    private final ControlPlaneApi api;
    private final ControlPlaneHealth health;
    private final ForwardingAgent agent;
    private final String underlayIp;
    private final int port;
    private final long intervalNanos;
    private final Runnable everyBeat;
    private final Backoff backoff = new Backoff();
    private volatile Thread thread;

    /** {@code everyBeat} runs on this thread before each heartbeat: other slow-path sampling for the node. */
    HeartbeatSender(ControlPlaneApi api, ControlPlaneHealth health, ForwardingAgent agent, int underlayIp, int port,
                    long intervalNanos, Runnable everyBeat) {
        this.api = api;
        this.health = health;
        this.agent = agent;
        this.underlayIp = Ipv4Address.format(underlayIp);
        this.port = port;
        this.intervalNanos = intervalNanos;
        this.everyBeat = everyBeat;
    }

    /** Sends the next heartbeat now rather than at the end of the interval. Any thread; never blocks. */
    void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        while (!Thread.currentThread().isInterrupted()) {
            everyBeat.run();
            long pauseNanos;
            try {
                api.heartbeat(heartbeat());
                health.reached();
                backoff.reset();
                pauseNanos = intervalNanos;
            } catch (ControlPlaneApi.Unauthorized e) {
                health.unauthorized(e.getMessage());
                pauseNanos = TimeUnit.MILLISECONDS.toNanos(ConfigPoller.UNAUTHORIZED_RETRY_MILLIS);
            } catch (IOException e) {
                health.unreachable(e.getMessage());
                pauseNanos = TimeUnit.MILLISECONDS.toNanos(backoff.nextMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            LockSupport.parkNanos(this, pauseNanos); // returns early on wake() or interrupt
        }
    }

    private ControlPlaneApi.Heartbeat heartbeat() {
        LoadedConfig applied = agent.applied();
        if (applied == null) {
            return new ControlPlaneApi.Heartbeat(underlayIp, port, -1, List.of());
        }
        List<NodeSnapshot.Eni> enis = applied.snapshot().enis();
        List<ControlPlaneApi.EniUsage> usage = new ArrayList<>(enis.size());
        for (NodeSnapshot.Eni eni : enis) {
            long natPorts = agent.eniPorts().natPorts(Ipv4Address.parse(eni.ip()));
            usage.add(new ControlPlaneApi.EniUsage(eni.ip(), natPorts, natPorts)); // one NAT port per tracked flow
        }
        return new ControlPlaneApi.Heartbeat(underlayIp, port, applied.version(), usage);
    }
}
