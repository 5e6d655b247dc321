package io.hyperplane.node;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Long-polls the control plane for configuration and hands each new valid version to the
 * forwarding thread, the control-plane counterpart of {@link ConfigWatcher}. Runs on its own
 * thread until interrupted (an interrupted request is cancelled, so that is prompt).
 * <p>
 * What follows each answer (one rule each):
 * <ul>
 *   <li>200 with a valid snapshot: offer it, cache it, ask again at once with {@code after} = its version;</li>
 *   <li>304: ask again at once (the control plane already waited);</li>
 *   <li>200 with an invalid snapshot: count and log it once per version, keep the old one, ask again
 *       after a backoff (the control plane may publish a fixed version);</li>
 *   <li>unreachable or an unexpected status: keep forwarding, ask again after a backoff;</li>
 *   <li>401: ask again in {@link #UNAUTHORIZED_RETRY_MILLIS}; a wrong token is not fixed in milliseconds.</li>
 * </ul>
 */
final class ConfigPoller implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigPoller.class);
    static final long UNAUTHORIZED_RETRY_MILLIS = 5_000;

    private final ControlPlaneApi api;
    private final ControlPlaneHealth health;
    private final SnapshotCache cache;
    private final Consumer<LoadedConfig> accepted;
    private final Runnable rejected;
    private final Duration wait;
    private final Backoff backoff = new Backoff();
    private final java.util.function.LongSupplier applied;
    private final java.util.concurrent.atomic.AtomicReference<LoadedConfig> pendingCache = new java.util.concurrent.atomic.AtomicReference<>();
    private final java.util.concurrent.ExecutorService cacheWriter = java.util.concurrent.Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("hp-config-cache").daemon().unstarted(r));
    private static final long APPLY_WAIT_NANOS = 1_000_000_000L;
    private long after;
    private String lastRejected;

    /** {@code after}: the version the node already has (-1: none). */
    ConfigPoller(ControlPlaneApi api, ControlPlaneHealth health, SnapshotCache cache, Consumer<LoadedConfig> accepted,
                 Runnable rejected, long after, Duration wait, java.util.function.LongSupplier applied) {
        this.applied = applied;
        this.api = api;
        this.health = health;
        this.cache = cache;
        this.accepted = accepted;
        this.rejected = rejected;
        this.after = after;
        this.wait = wait;
    }

    @Override
    public void run() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                pollOnce();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One request, and the pause after it when its answer calls for one. */
    private void pollOnce() throws InterruptedException {
        ControlPlaneApi.ConfigAnswer answer;
        try {
            answer = api.config(after, wait);
        } catch (ControlPlaneApi.Unauthorized e) {
            health.unauthorized(e.getMessage());
            Thread.sleep(UNAUTHORIZED_RETRY_MILLIS);
            return;
        } catch (IOException e) {
            health.unreachable(e.getMessage());
            Thread.sleep(backoff.nextMillis());
            return;
        }
        health.reached();
        if (answer instanceof ControlPlaneApi.NewConfig config && !accept(config)) {
            Thread.sleep(backoff.nextMillis());
            return;
        }
        backoff.reset();
    }

    /** Writes the newest accepted snapshot (older ones queued behind it are skipped). */
    private void writeCache() {
        LoadedConfig loaded = pendingCache.getAndSet(null);
        if (loaded == null) {
            return;
        }
        try {
            cache.store(loaded.snapshot());
        } catch (IOException e) {
            LOG.warn("config version {} not cached in {}: {}; a restart while the control plane is down would start without it",
                    loaded.version(), cache.file(), e.getMessage());
        }
    }

    /** Validates, offers and caches a new config; false when it was not taken. */
    private boolean accept(ControlPlaneApi.NewConfig answer) {
        LoadedConfig loaded;
        try {
            NodeSnapshot snapshot = SnapshotJson.parse(answer.body());
            if (!String.valueOf(snapshot.version()).equals(answer.versionHeader())) {
                throw new IllegalArgumentException(ControlPlaneApi.VERSION_HEADER + " " + answer.versionHeader()
                        + " does not match the snapshot's version " + snapshot.version());
            }
            loaded = LoadedConfig.of(snapshot);
        } catch (IllegalArgumentException e) {
            // The same bad version comes back at every retry: count and log it once.
            if (!Objects.equals(lastRejected, answer.versionHeader())) {
                lastRejected = answer.versionHeader();
                rejected.run();
                LOG.warn("config version {} from the control plane rejected, keeping version {}: {}", answer.versionHeader(),
                        after, e.getMessage());
            }
            return false;
        }
        if (loaded.version() == after) {
            // Not newer than what we asked after: a control plane answering so at once would make us spin.
            return false;
        }
        accepted.accept(loaded);
        // The next poll's "after" tells the control plane this version runs: ask only once the
        // forwarding thread has switched to it (within one receive timeout), so it is true.
        long deadline = System.nanoTime() + APPLY_WAIT_NANOS;
        while (applied.getAsLong() < loaded.version() && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
        after = loaded.version();
        lastRejected = null;
        LOG.info("config version {} applied ({} ENIs, {} execution environments)", loaded.version(),
                loaded.snapshot().enis().size(), loaded.snapshot().executionEnvironments().size());
        // Off this thread: a synced file write would delay the next poll, which acknowledges the version.
        pendingCache.set(loaded);
        cacheWriter.execute(this::writeCache);
        return true;
    }
}
