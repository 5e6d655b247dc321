package io.hyperplane.node;

import io.hyperplane.config.ConfigStreamMessage;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Takes configuration from the control plane and hands each new valid version to the forwarding
 * thread, the control-plane counterpart of {@link ConfigWatcher}. Runs on its own thread until
 * interrupted (an interrupted request is cancelled, so that is prompt).
 * <p>
 * It prefers the <b>configuration stream</b>, a WebSocket on which the control plane sends every
 * version as it is published (an environments-only change as a delta on the version the node
 * runs) and the node acknowledges each once it has handed it to its forwarding thread: a cold start's
 * registration reaches the forwarding thread and is confirmed in two messages. A stream that
 * closes is reopened (with the version the node runs); a control plane without one is long-polled
 * instead, and the stream tried again every {@link #STREAM_RETRY_NANOS}.
 * <p>
 * The long poll, one rule per answer:
 * <ul>
 *   <li>200 with a valid snapshot: offer it, cache it, ask again at once with {@code after} = its version;</li>
 *   <li>304: ask again at once (the control plane already waited);</li>
 *   <li>200 with an invalid snapshot: count and log it once per version, keep the old one, ask again
 *       after a backoff (the control plane may publish a fixed version);</li>
 *   <li>unreachable or an unexpected status: keep forwarding, ask again after a backoff;</li>
 *   <li>401: ask again in {@link #UNAUTHORIZED_RETRY_MILLIS}; a wrong token is not fixed in milliseconds.</li>
 * </ul>
 * The same rules hold on the stream: an invalid version is counted and kept out, and a delta on
 * another version than the node runs (after an invalid one) reopens the stream, which starts with
 * the whole current version.
 */
final class ConfigPoller implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigPoller.class);
    static final long UNAUTHORIZED_RETRY_MILLIS = 5_000;
    private static final long STREAM_RETRY_NANOS = 60_000_000_000L;
    /** The control plane pings every 15 s: a stream silent for this long is dead. */
    private static final long STREAM_SILENCE_NANOS = 45_000_000_000L;

    private final ControlPlaneApi api;
    private final ControlPlaneHealth health;
    private final SnapshotCache cache;
    private final Consumer<LoadedConfig> accepted;
    private final Runnable rejected;
    private final Duration wait;
    private final Backoff backoff = new Backoff();
    private final LongSupplier applied;
    private final AtomicReference<LoadedConfig> pendingCache = new AtomicReference<>();
    private final ScheduledExecutorService cacheWriter = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("hp-config-cache").daemon().unstarted(r));
    /**
     * The cache is written this long after a version is taken, once for all taken meanwhile: writing
     * the whole snapshot (JSON, then a rename) takes CPU just when the cold start whose environment
     * the version brought is waiting, and a cache a moment old is as good for a restart.
     */
    private static final long CACHE_DELAY_MILLIS = 500;
    private static final long APPLY_WAIT_NANOS = 1_000_000_000L;
    /** The config offered last (null: none); guarded by this. */
    private LoadedConfig current;
    private String lastRejected;
    private long streamRetryAt = System.nanoTime();

    /** {@code initial}: the config the node already runs (null: none). */
    ConfigPoller(ControlPlaneApi api, ControlPlaneHealth health, SnapshotCache cache, Consumer<LoadedConfig> accepted,
                 Runnable rejected, LoadedConfig initial, Duration wait, LongSupplier applied) {
        this.applied = applied;
        this.api = api;
        this.health = health;
        this.cache = cache;
        this.accepted = accepted;
        this.rejected = rejected;
        this.current = initial;
        this.wait = wait;
    }

    @Override
    public void run() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                if (System.nanoTime() - streamRetryAt >= 0) {
                    streamOnce();
                } else {
                    pollOnce();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Opens the stream and follows it until it closes; the pause after it when that calls for one. */
    private void streamOnce() throws InterruptedException {
        Stream stream = new Stream();
        WebSocket ws;
        try {
            ws = api.openStream(version(), stream);
        } catch (ControlPlaneApi.StreamUnavailable e) {
            LOG.info("no configuration stream ({}): long polling, trying the stream again in {} s", e.getMessage(),
                    TimeUnit.NANOSECONDS.toSeconds(STREAM_RETRY_NANOS));
            streamRetryAt = System.nanoTime() + STREAM_RETRY_NANOS;
            return;
        } catch (IOException e) {
            pauseAfter(e);
            return;
        }
        health.reached();
        LOG.info("configuration stream open (running version {})", version());
        try {
            String why = stream.awaitEnd(ws);
            LOG.info("configuration stream closed: {}", why);
            if (stream.messages == 0) {
                Thread.sleep(backoff.nextMillis()); // closed before anything came: do not spin on it
            } else {
                backoff.reset();
            }
        } catch (InterruptedException e) {
            ws.abort();
            throw e;
        }
    }

    /** One request, and the pause after it when its answer calls for one. */
    private void pollOnce() throws InterruptedException {
        ControlPlaneApi.ConfigAnswer answer;
        try {
            answer = api.config(version(), wait);
        } catch (IOException e) {
            pauseAfter(e);
            return;
        }
        health.reached();
        if (answer instanceof ControlPlaneApi.NewConfig config && !accept(config)) {
            Thread.sleep(backoff.nextMillis());
            return;
        }
        backoff.reset();
    }

    /** Reports a failed request and pauses: a refused token is not fixed in milliseconds, an outage backs off. */
    private void pauseAfter(IOException e) throws InterruptedException {
        if (e instanceof ControlPlaneApi.Unauthorized) {
            health.unauthorized(e.getMessage());
            Thread.sleep(UNAUTHORIZED_RETRY_MILLIS);
        } else {
            health.unreachable(e.getMessage());
            Thread.sleep(backoff.nextMillis());
        }
    }

    private synchronized long version() {
        return current == null ? -1 : current.version();
    }

    /**
     * On the way out, after this poller's thread has stopped: writes a snapshot still waiting for
     * its delayed write, so that a node stopped right after a new version starts on it next time.
     */
    void flushCache() {
        if (cacheWriter instanceof ScheduledThreadPoolExecutor pool) {
            pool.setExecuteExistingDelayedTasksAfterShutdownPolicy(false); // the write below does it now
        }
        cacheWriter.shutdown(); // a write under way finishes; none is interrupted half-way
        try {
            cacheWriter.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        writeCache();
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

    /** Validates, offers and caches a long-polled config; false when it was not taken. */
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
            rejectedOnce("version " + answer.versionHeader(), e);
            return false;
        }
        return install(loaded, true, true, () -> { });
    }

    /** Counts and logs a rejected config once: the same bad version comes back at every retry. */
    private synchronized void rejectedOnce(String what, IllegalArgumentException e) {
        String key = what + ": " + e.getMessage();
        if (!Objects.equals(lastRejected, key)) {
            lastRejected = key;
            rejected.run();
            LOG.warn("config {} from the control plane rejected, keeping version {}: {}", what, version(), e.getMessage());
        }
    }

    /**
     * Offers a config to the forwarding thread, runs {@code offered}, and, with {@code awaitSwitch},
     * returns only once the thread runs it (within one receive timeout), so that what the next
     * poll's {@code after} tells the control plane is true. False when it is the version already
     * offered.
     * <p>
     * What the stream's acknowledgement ({@code offered}) promises is slightly different and
     * already true at the offer: every datagram the node receives from now on is forwarded by this
     * config or a later one, because the forwarding thread takes an offered config after each
     * receive and before deciding any datagram of it. An environment's first packet is sent only
     * after its registration is acknowledged, so it always finds itself programmed.
     */
    private synchronized boolean install(LoadedConfig loaded, boolean logInfo, boolean awaitSwitch, Runnable offered) {
        if (loaded.version() == version()) {
            // Not newer than what we asked after: a control plane answering so at once would make us spin.
            return false;
        }
        accepted.accept(loaded);
        offered.run();
        long deadline = System.nanoTime() + (awaitSwitch ? APPLY_WAIT_NANOS : 0);
        while (applied.getAsLong() < loaded.version() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(100_000);
        }
        current = loaded;
        lastRejected = null;
        if (logInfo) {
            LOG.info("config version {} applied ({} ENIs, {} execution environments)", loaded.version(),
                    loaded.snapshot().enis().size(), loaded.snapshot().executionEnvironments().size());
        } else {
            LOG.debug("config version {} applied ({} execution environments)", loaded.version(), loaded.snapshot().executionEnvironments().size());
        }
        // Off this thread, and a moment later: a synced file write would delay the acknowledgement.
        if (pendingCache.getAndSet(loaded) == null) {
            cacheWriter.schedule(this::writeCache, CACHE_DELAY_MILLIS, TimeUnit.MILLISECONDS);
        }
        return true;
    }

    /**
     * One open stream. Messages are handled one at a time on the HTTP client's thread (the next is
     * requested only when one is done), acknowledgements chained so that only one send is pending.
     */
    private final class Stream implements WebSocket.Listener {
        private final CompletableFuture<String> end = new CompletableFuture<>();
        private final StringBuilder partial = new StringBuilder();
        private CompletableFuture<WebSocket> sending;
        private volatile long lastHeardNanos = System.nanoTime();
        private volatile int messages;

        /** Blocks until the stream ends; returns why. Aborts a stream that has gone silent. */
        String awaitEnd(WebSocket ws) throws InterruptedException {
            while (true) {
                try {
                    return end.get(5, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    if (System.nanoTime() - lastHeardNanos > STREAM_SILENCE_NANOS) {
                        ws.abort();
                        return "nothing heard for " + TimeUnit.NANOSECONDS.toSeconds(STREAM_SILENCE_NANOS) + " s";
                    }
                } catch (ExecutionException e) {
                    return String.valueOf(e.getCause().getMessage());
                }
            }
        }

        @Override
        public void onOpen(WebSocket ws) {
            sending = CompletableFuture.completedFuture(ws);
            ws.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            lastHeardNanos = System.nanoTime();
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                messages++;
                if (!handle(text)) {
                    ws.abort();
                    end.complete("a delta on another version than this node runs; reopening for the whole version");
                    return null;
                }
            }
            ws.request(1);
            return null;
        }

        /** False when the stream must be reopened. */
        private boolean handle(String text) {
            LoadedConfig loaded;
            boolean whole;
            try {
                ConfigStreamMessage message = ConfigStreamMessage.parse(text);
                switch (message) {
                    case ConfigStreamMessage.Snapshot s -> {
                        loaded = LoadedConfig.of(s.snapshot());
                        whole = true;
                    }
                    case ConfigStreamMessage.Environments e -> {
                        LoadedConfig base;
                        synchronized (ConfigPoller.this) {
                            base = current;
                        }
                        if (base == null || base.version() != e.delta().base()) {
                            return false;
                        }
                        loaded = LoadedConfig.of(e.delta().applyTo(base.snapshot()));
                        whole = false;
                    }
                    case ConfigStreamMessage.Applied a -> throw new IllegalArgumentException("the control plane sent an applied message");
                }
            } catch (IllegalArgumentException e) {
                rejectedOnce("on the stream", e);
                return true;
            }
            String ack = ConfigStreamMessage.applied(loaded.version());
            install(loaded, whole, false, () -> sending = sending.thenCompose(w -> w.sendText(ack, true)));
            return true;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket ws, ByteBuffer message) {
            lastHeardNanos = System.nanoTime();
            ws.request(1);
            return null; // the client answers with a pong itself
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            end.complete("closed by the control plane (" + statusCode + (reason == null || reason.isEmpty() ? "" : " " + reason) + ")");
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            end.complete(error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage());
        }
    }
}
