package io.hyperplane.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The worker's execution environments, and the one owner of their {@link EnvironmentState}: every
 * transition is made here, under one lock, through {@link EnvironmentState#moveTo}. Idle environments
 * wait per environment key (function version and revision) and the most recently used is taken
 * first (the warmest); one idle longer than the idle timeout, or whose process has died, is reaped.
 * Tearing down (process, network, uid) is the {@code teardown} callback's, run outside the lock.
 *
 * <p>A caller holds a {@link Lease} from the moment a cold start begins ({@link #starting}) or an
 * idle environment is taken ({@link #takeIdle}) until it {@link #release}s it, so a function deleted
 * meanwhile ({@link #evict}) finds its cold starts and running invocations too: they are destroyed
 * when released instead of going back to the pool.
 *
 * @param <E> the environments; tests pool fakes
 */
final class EnvironmentPool<E extends EnvironmentPool.Pooled> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EnvironmentPool.class);

    /** What the pool needs to know of an environment. */
    interface Pooled {
        String id();

        /** Environments of one key may serve each other's invocations ({@link FunctionConfig#environmentKey}). */
        String key();

        String functionName();

        /** Whether its runtime process still runs. */
        boolean alive();
    }

    /** One environment's place in the pool, held by whoever runs it or is starting it. */
    static final class Lease<E> {
        private final String key;
        private E environment; // null while starting
        private EnvironmentState state = EnvironmentState.STARTING;
        private boolean evicted;
        private long idleSinceNanos;

        private Lease(String key) {
            this.key = key;
        }

        /** The environment, once started. */
        E environment() {
            if (environment == null) {
                throw new IllegalStateException("an environment of " + key + " is still starting");
            }
            return environment;
        }
    }

    private final long idleTimeoutNanos;
    private final LongSupplier nanoTime;
    private final Consumer<E> teardown;
    private final ReentrantLock lock = new ReentrantLock();
    // Guarded by lock: every lease not destroyed, the idle ones per key (a key without any has no entry).
    private final Set<Lease<E>> live = new LinkedHashSet<>();
    private final Map<String, Deque<Lease<E>>> idle = new HashMap<>();
    private int started;
    private boolean closed;

    /**
     * @param nanoTime the clock idle time is measured by ({@link System#nanoTime} but in tests)
     * @param teardown ends an environment the pool has destroyed: its process, network and uid
     */
    EnvironmentPool(Duration idleTimeout, LongSupplier nanoTime, Consumer<E> teardown) {
        if (idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idle timeout " + idleTimeout + ": must be >= 0");
        }
        this.idleTimeoutNanos = idleTimeout.toNanos();
        this.nanoTime = nanoTime;
        this.teardown = teardown;
    }

    /** How many environments are started and not destroyed (busy or idle). */
    int size() {
        lock.lock();
        try {
            return started;
        } finally {
            lock.unlock();
        }
    }

    /** The most recently used idle environment of {@code key}, now busy; dead ones found on the way are destroyed. */
    Optional<Lease<E>> takeIdle(String key) {
        List<E> dead = new ArrayList<>();
        Lease<E> taken = null;
        lock.lock();
        try {
            Deque<Lease<E>> queue = idle.get(key);
            while (taken == null && queue != null && !queue.isEmpty()) {
                Lease<E> lease = queue.pollLast();
                if (lease.environment.alive()) {
                    lease.state = lease.state.moveTo(EnvironmentState.BUSY);
                    taken = lease;
                } else {
                    dead.add(destroyLocked(lease));
                }
            }
            if (queue != null && queue.isEmpty()) {
                idle.remove(key);
            }
        } finally {
            lock.unlock();
        }
        dead.forEach(teardown);
        return Optional.ofNullable(taken);
    }

    /** A cold start of an environment of {@code key} begins: its lease, until {@link #started} or {@link #failed}. */
    Lease<E> starting(String key) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the worker is stopping: no cold start of " + key);
            }
            Lease<E> lease = new Lease<>(key);
            live.add(lease);
            return lease;
        } finally {
            lock.unlock();
        }
    }

    /** The cold start made {@code environment}: busy with the invocation that started it. */
    void started(Lease<E> lease, E environment) {
        if (!environment.key().equals(lease.key)) {
            throw new IllegalArgumentException("environment " + environment.id() + " has key " + environment.key() + ", its lease " + lease.key);
        }
        lock.lock();
        try {
            lease.state = lease.state.moveTo(EnvironmentState.BUSY);
            lease.environment = environment;
            started++;
        } finally {
            lock.unlock();
        }
    }

    /** The cold start failed; it removed whatever it had made. */
    void failed(Lease<E> lease) {
        lock.lock();
        try {
            lease.state = lease.state.moveTo(EnvironmentState.DESTROYED);
            live.remove(lease);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The invocation is done. The environment goes back to the pool if {@code reusable} (its invocation
     * was not fatal to it), its process still runs, its function was not deleted meanwhile and the worker
     * is not stopping; otherwise it is destroyed.
     */
    void release(Lease<E> lease, boolean reusable) {
        E gone = null;
        lock.lock();
        try {
            if (closed && lease.state == EnvironmentState.DESTROYED) {
                return; // the worker stopped while it ran, and destroyed it then
            }
            if (reusable && !lease.evicted && !closed && lease.environment().alive()) {
                lease.state = lease.state.moveTo(EnvironmentState.IDLE);
                lease.idleSinceNanos = nanoTime.getAsLong();
                idle.computeIfAbsent(lease.key, k -> new ArrayDeque<>()).addLast(lease);
            } else {
                gone = destroyLocked(lease);
            }
        } finally {
            lock.unlock();
        }
        if (gone != null) {
            teardown.accept(gone);
        }
    }

    /**
     * The function whose environment keys start with {@code functionPrefix} was deleted: its idle
     * environments are destroyed now, the ones starting or running when they are released.
     *
     * @return how many idle environments were destroyed
     */
    int evict(String functionPrefix) {
        List<E> gone = new ArrayList<>();
        lock.lock();
        try {
            for (Lease<E> lease : List.copyOf(live)) {
                if (!lease.key.startsWith(functionPrefix)) {
                    continue;
                }
                if (lease.state == EnvironmentState.IDLE) {
                    removeIdle(lease);
                    gone.add(destroyLocked(lease));
                } else {
                    lease.evicted = true;
                }
            }
        } finally {
            lock.unlock();
        }
        gone.forEach(teardown);
        LOG.info("function {} deleted: {} idle environments ended", functionPrefix, gone.size());
        return gone.size();
    }

    /** Destroys every idle environment past the idle timeout, or whose process has died. */
    void reap() {
        record Reaped<E>(E environment, long idleNanos) {
        }
        List<Reaped<E>> reaped = new ArrayList<>();
        lock.lock();
        try {
            long now = nanoTime.getAsLong();
            for (Iterator<Deque<Lease<E>>> queues = idle.values().iterator(); queues.hasNext(); ) {
                Deque<Lease<E>> queue = queues.next();
                for (Iterator<Lease<E>> leases = queue.iterator(); leases.hasNext(); ) {
                    Lease<E> lease = leases.next();
                    long idleNanos = now - lease.idleSinceNanos;
                    if (idleNanos > idleTimeoutNanos || !lease.environment.alive()) {
                        leases.remove();
                        reaped.add(new Reaped<>(destroyLocked(lease), idleNanos));
                    }
                }
                if (queue.isEmpty()) {
                    queues.remove();
                }
            }
        } finally {
            lock.unlock();
        }
        for (Reaped<E> r : reaped) {
            LOG.info("environment {} of {} reaped after {} s idle", r.environment().id(), r.environment().functionName(), r.idleNanos() / 1_000_000_000L);
            teardown.accept(r.environment());
        }
    }

    /** Destroys every environment, idle or busy (its invocation ends with its process); later releases find them gone. */
    @Override
    public void close() {
        List<E> gone = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            for (Lease<E> lease : List.copyOf(live)) {
                if (lease.state == EnvironmentState.IDLE) {
                    removeIdle(lease);
                }
                if (lease.state != EnvironmentState.STARTING) {
                    gone.add(destroyLocked(lease));
                }
            }
        } finally {
            lock.unlock();
        }
        gone.forEach(teardown);
    }

    /** Moves a started environment to DESTROYED and forgets it; returns it for teardown. Call with the lock held. */
    private E destroyLocked(Lease<E> lease) {
        lease.state = lease.state.moveTo(EnvironmentState.DESTROYED);
        live.remove(lease);
        started--;
        return lease.environment;
    }

    /** Call with the lock held. */
    private void removeIdle(Lease<E> lease) {
        Deque<Lease<E>> queue = idle.get(lease.key);
        queue.remove(lease);
        if (queue.isEmpty()) {
            idle.remove(lease.key);
        }
    }
}
