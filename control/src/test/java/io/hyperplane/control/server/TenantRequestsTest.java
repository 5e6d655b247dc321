package io.hyperplane.control.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Tenant threads: turns between accounts, a cap on one account's threads, a bound on its requests
 * in flight, and asynchronous calls that hold no thread while they wait.
 */
@Timeout(30)
class TenantRequestsTest {
    private TenantRequests requests;
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stop() {
        release.countDown();
        if (requests != null) {
            requests.close();
        }
    }

    /** A call that holds its thread until the test releases it. */
    private Supplier<CompletableFuture<String>> blocking(String name, CountDownLatch started) {
        return () -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return CompletableFuture.completedFuture(name);
        };
    }

    private static Supplier<CompletableFuture<String>> recording(String name, List<String> order) {
        return () -> {
            order.add(name);
            return CompletableFuture.completedFuture(name);
        };
    }

    @Test
    void shouldServeAnotherAccountWhileOneHoldsAllItMayAndHasABacklog() throws Exception {
        requests = new TenantRequests(new TenantRequests.Limits(4, 2, 1000));
        CountDownLatch started = new CountDownLatch(2);
        requests.submit("a", blocking("a0", started));
        requests.submit("a", blocking("a1", started));
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
        List<CompletableFuture<String>> backlog = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            backlog.add(requests.submit("a", () -> CompletableFuture.completedFuture("queued")));
        }

        assertThat(requests.submit("b", () -> CompletableFuture.completedFuture("b")).get(5, TimeUnit.SECONDS))
                .as("b is served on a thread a may not take").isEqualTo("b");
        assertThat(backlog).as("a's backlog waits for a's own threads").noneMatch(CompletableFuture::isDone);

        release.countDown();
        CompletableFuture.allOf(backlog.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
    }

    @Test
    void shouldTakeTurnsSoThatABacklogDelaysAnotherAccountByOneCall() throws Exception {
        requests = new TenantRequests(new TenantRequests.Limits(1, 1, 1000));
        List<String> order = new CopyOnWriteArrayList<>();
        CountDownLatch started = new CountDownLatch(1);
        requests.submit("a", blocking("a0", started));
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
        for (int i = 1; i <= 3; i++) {
            requests.submit("a", recording("a" + i, order));
        }
        CompletableFuture<String> b = requests.submit("b", recording("b1", order));
        CompletableFuture<String> last = requests.submit("a", recording("a4", order));

        release.countDown();
        b.get(5, TimeUnit.SECONDS);
        last.get(5, TimeUnit.SECONDS);
        assertThat(order).containsExactly("b1", "a1", "a2", "a3", "a4");
    }

    @Test
    void shouldRefuseAnAccountsRequestsBeyondItsBoundInFlightAndCountThem() throws Exception {
        requests = new TenantRequests(new TenantRequests.Limits(2, 1, 2));
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<String> running = requests.submit("a", blocking("a0", started));
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<String> queued = requests.submit("a", () -> CompletableFuture.completedFuture("a1"));

        CompletableFuture<String> refused = requests.submit("a", () -> CompletableFuture.completedFuture("a2"));
        assertThat(refused).isCompletedExceptionally();
        assertThat(catchThrowable(refused::join)).hasCauseInstanceOf(TenantRequests.Throttled.class)
                .hasMessageContaining("account a has 2 API requests in flight");
        assertThat(requests.throttled()).isEqualTo(1);
        assertThat(requests.submit("b", () -> CompletableFuture.completedFuture("b")).get(5, TimeUnit.SECONDS))
                .as("the bound is a's alone").isEqualTo("b");

        release.countDown();
        assertThat(running.get(5, TimeUnit.SECONDS)).isEqualTo("a0");
        assertThat(queued.get(5, TimeUnit.SECONDS)).isEqualTo("a1");
        assertThat(requests.submit("a", () -> CompletableFuture.completedFuture("a3")).get(5, TimeUnit.SECONDS))
                .as("answered requests no longer count").isEqualTo("a3");
    }

    @Test
    void shouldHoldNoThreadWhileAnAsynchronousCallWaitsAndAnswerItOnATenantThread() throws Exception {
        requests = new TenantRequests(new TenantRequests.Limits(1, 1, 1));
        CompletableFuture<String> worker = new CompletableFuture<>();
        CompletableFuture<String> answer = requests.submit("a", () -> worker);
        CompletableFuture<String> answeredOn = answer.thenApply(value -> value + " on " + Thread.currentThread().getName());

        assertThat(requests.submit("b", () -> CompletableFuture.completedFuture("b")).get(5, TimeUnit.SECONDS))
                .as("the only thread is free while a's call waits").isEqualTo("b");
        assertThat(requests.submit("a", () -> CompletableFuture.completedFuture("a1")).get(5, TimeUnit.SECONDS))
                .as("a waiting call is not in flight: the account's concurrency bounds those").isEqualTo("a1");

        worker.complete("done");
        assertThat(answeredOn.get(5, TimeUnit.SECONDS)).isEqualTo("done on hp-tenant-0");
    }

    @Test
    void shouldAnswerWithTheFailureOfACallThatThrowsOrFails() {
        requests = new TenantRequests(new TenantRequests.Limits(1, 1, 10));
        CompletableFuture<String> thrown = requests.submit("a", () -> {
            throw new IllegalStateException("thrown");
        });
        CompletableFuture<String> failed = new CompletableFuture<>();
        CompletableFuture<String> later = requests.submit("a", () -> failed);
        failed.completeExceptionally(new IllegalArgumentException("failed later"));

        assertThatThrownBy(thrown::join).hasCauseInstanceOf(IllegalStateException.class).hasRootCauseMessage("thrown");
        assertThatThrownBy(later::join).hasCauseInstanceOf(IllegalArgumentException.class).hasRootCauseMessage("failed later");
    }

    @Test
    void shouldRefuseLimitsThatCannotWork() {
        assertThatThrownBy(() -> new TenantRequests.Limits(0, 1, 1)).hasMessage("tenant threads 0: must be at least 1");
        assertThatThrownBy(() -> new TenantRequests.Limits(2, 3, 1))
                .hasMessage("tenant threads per account 3: must be 1..2 (the number of threads)");
        assertThatThrownBy(() -> new TenantRequests.Limits(2, 1, 0)).hasMessage("requests in flight per account 0: must be at least 1");
    }
}
