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

    public WorkerRegistry(Duration liveness, Clock clock) {
        this.liveness = liveness;
        this.clock = clock;
    }

    public void heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) {
        workers.put(name, new WorkerStatus(name, url, underlayIp, networkModel, environments, clock.instant()));
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
}
