package io.hyperplane.control.concurrent;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A background thread that runs one round of work whenever asked ({@link #wake}, cheap and
 * callable from any thread; asks that come during a round coalesce into one more round) and at
 * least every {@code period}. A failing round is logged and retried at the next one. This is how
 * the control plane converges: the fabric, the ENI reconciler.
 */
public final class Rounds implements AutoCloseable {
    private final Semaphore wakeUp = new Semaphore(0);
    private final Thread thread;
    private volatile boolean running = true;

    public Rounds(String name, Duration period, Runnable round, Logger log) {
        this.thread = Thread.ofPlatform().name(name).daemon().start(() -> {
            while (running) {
                try {
                    wakeUp.tryAcquire(period.toMillis(), TimeUnit.MILLISECONDS);
                    wakeUp.drainPermits();
                    if (running) {
                        round.run();
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    log.warn("{} round failed, retrying: {}", name, e.getMessage(), e);
                }
            }
        });
    }

    public void wake() {
        wakeUp.release();
    }

    /** Stops after the current round (waiting for it at most 10 s). */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
