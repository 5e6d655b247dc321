package io.hyperplane.control.fleet;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Workers (hosts of execution environments) as they report themselves: live while heartbeats keep
 * coming. The control plane hands each invocation to one of them, the same one for the same
 * function while the set of live workers is unchanged, so warm environments get reused.
 */
public final class WorkerRegistry {
    /** What a worker last reported: where to reach it, its underlay address and network model. */
    public record WorkerStatus(String name, URI url, String underlayIp, String networkModel, int environments, Instant lastSeen) {
    }

    private final Map<String, WorkerStatus> workers = new ConcurrentHashMap<>();
    private final Duration liveness;
    private final Clock clock;
    /** Signalled on every heartbeat: a worker that appears (or comes back) may be one a waiting invocation can take. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition heartbeat = lock.newCondition();

    public WorkerRegistry(Duration liveness, Clock clock) {
        this.liveness = liveness;
        this.clock = clock;
    }

    public void heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) {
        workers.put(name, new WorkerStatus(name, url, underlayIp, networkModel, environments, clock.instant()));
        lock.lock();
        try {
            heartbeat.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public void remove(String name) {
        workers.remove(name);
    }

    public List<WorkerStatus> live() {
        List<WorkerStatus> out = new ArrayList<>();
        for (WorkerStatus w : workers.values()) {
            if (!w.lastSeen().plus(liveness).isBefore(clock.instant())) {
                out.add(w);
            }
        }
        out.sort(Comparator.comparing(WorkerStatus::name));
        return out;
    }

    /**
     * The live worker for {@code key} (stable while the live set is) running {@code networkModel};
     * with null, a shared-model worker if any is live, else any live worker. Empty when none fits.
     */
    public Optional<WorkerStatus> pick(String key, String networkModel) {
        List<WorkerStatus> live = live();
        List<WorkerStatus> fitting = live.stream().filter(w -> w.networkModel().equals(networkModel == null ? "shared" : networkModel)).toList();
        if (fitting.isEmpty() && networkModel == null) {
            fitting = live;
        }
        if (fitting.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(fitting.get(Math.floorMod(key.hashCode(), fitting.size())));
    }

    /**
     * As {@link #pick}, but when no live worker fits, waits for one to report itself, up to
     * {@code bound}: an invocation that arrives while the fleet is starting (or a worker is
     * restarting) runs once a worker is there, as Lambda queues it, instead of failing. Empty
     * when none fitted within the bound. Waits on the heartbeats, not by polling; a virtual
     * thread that waits here holds no carrier.
     */
    public Optional<WorkerStatus> awaitPick(String key, String networkModel, Duration bound) throws InterruptedException {
        Optional<WorkerStatus> picked = pick(key, networkModel);
        if (picked.isPresent()) {
            return picked;
        }
        long remaining = bound.toNanos();
        lock.lock();
        try {
            while (true) {
                picked = pick(key, networkModel);
                if (picked.isPresent() || remaining <= 0) {
                    return picked;
                }
                remaining = heartbeat.awaitNanos(remaining);
            }
        } finally {
            lock.unlock();
        }
    }
}
