package io.hyperplane.control.fleet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Which worker an invocation goes to, and how an invocation waits for one while none is live. */
@Timeout(30)
class WorkerRegistryTest {
    private static final URI URL = URI.create("http://127.0.0.1:9");
    private final WorkerRegistry registry = new WorkerRegistry(Duration.ofSeconds(30), Clock.systemUTC());
    private final ExecutorService waiters = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void stopWaiters() {
        waiters.shutdownNow();
    }

    private CompletableFuture<Optional<WorkerRegistry.WorkerStatus>> awaitPick(String networkModel, Duration bound) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return registry.awaitPick("acct/fn", networkModel, bound);
            } catch (InterruptedException e) {
                throw new CompletionException(e);
            }
        }, waiters);
    }

    @Test
    void shouldPickALiveWorkerAtOnce() throws Exception {
        registry.heartbeat("w", URL, "198.18.0.11", "shared", 0);
        assertThat(registry.awaitPick("acct/fn", null, Duration.ZERO)).map(WorkerRegistry.WorkerStatus::name).contains("w");
    }

    @Test
    void shouldWaitForAWorkerThatRegistersWithinTheBound() {
        CompletableFuture<Optional<WorkerRegistry.WorkerStatus>> waiting = awaitPick(null, Duration.ofSeconds(20));
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !waiting.isDone());

        registry.heartbeat("w", URL, "198.18.0.11", "shared", 0);

        assertThat(waiting.join()).map(WorkerRegistry.WorkerStatus::name).contains("w");
    }

    @Test
    void shouldKeepWaitingWhileOnlyAWorkerOfAnotherModelRegisters() {
        CompletableFuture<Optional<WorkerRegistry.WorkerStatus>> waiting = awaitPick("legacy", Duration.ofSeconds(20));
        registry.heartbeat("w", URL, "198.18.0.11", "shared", 0);
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !waiting.isDone());

        registry.heartbeat("wl", URL, "198.18.0.12", "legacy", 0);

        assertThat(waiting.join()).map(WorkerRegistry.WorkerStatus::name).contains("wl");
    }

    @Test
    void shouldAnswerEmptyOnceTheBoundPassesWithNoWorker() {
        long start = System.nanoTime();
        assertThat(awaitPick(null, Duration.ofMillis(300)).join()).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("waited out the bound").isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }

    @Test
    void shouldStopWaitingWhenInterrupted() throws Exception {
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Thread waiter = Thread.ofVirtual().start(() -> {
            try {
                registry.awaitPick("acct/fn", null, Duration.ofMinutes(1));
                failure.complete(null);
            } catch (InterruptedException e) {
                failure.complete(e);
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> waiter.getState() == Thread.State.TIMED_WAITING);
        waiter.interrupt();
        assertThat(failure.get()).isInstanceOf(InterruptedException.class);
    }
}
