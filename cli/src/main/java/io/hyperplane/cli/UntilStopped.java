package io.hyperplane.cli;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * A service that runs until SIGTERM or Ctrl-C, with its shutdown hook registered before it starts,
 * so that a signal at any moment leaves nothing behind (issue 15). A signal during the start makes
 * the hook wait for the start to end, then stop what it made; a start that fails (or gives up on
 * {@link #stopping}) has removed what it made itself. What is announced once the service is up
 * ({@link #announce}) is announced only if no stop began first, so nothing says "ready" while it goes.
 */
final class UntilStopped<T> {
    private final CompletableFuture<T> started = new CompletableFuture<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Object announcing = new Object();
    private volatile boolean stopping;

    /** Registers the hook; {@code stop} runs in it, once, if the start succeeded. */
    UntilStopped(String hookName, Consumer<T> stop) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (announcing) {
                stopping = true;
            }
            try {
                stop.accept(started.join());
            } catch (CompletionException startFailed) {
                // the start removed what it made
            } finally {
                stopped.countDown();
            }
        }, hookName));
    }

    /** True once a stop began: a start in progress should give up at its next step. */
    boolean stopping() {
        return stopping;
    }

    /** Starts the service; the hook stops it (or waits for this start to end, then stops it). */
    T start(Callable<T> start) throws Exception {
        try {
            T service = start.call();
            started.complete(service);
            return service;
        } catch (Exception | Error e) {
            started.completeExceptionally(e);
            throw e;
        }
    }

    /** Runs {@code announce} unless a stop began: the hook does not stop the service while it runs. */
    void announce(Runnable announce) {
        synchronized (announcing) {
            if (!stopping) {
                announce.run();
            }
        }
    }

    /** Until the hook has stopped the service. */
    void awaitStop() throws InterruptedException {
        stopped.await();
    }
}
