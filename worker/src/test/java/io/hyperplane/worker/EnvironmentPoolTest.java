package io.hyperplane.worker;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pool with environments that are names and a flag, a clock the test moves, and a recording teardown. */
class EnvironmentPoolTest {
    private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);
    private static final String KEY = "123456789012/fn/$LATEST/rev-1";
    private static final String OTHER_KEY = "123456789012/other/$LATEST/rev-1";

    /** An environment as the pool sees it. */
    private static final class Env implements EnvironmentPool.Pooled {
        final String id;
        final String key;
        boolean alive = true;

        Env(String id, String key) {
            this.id = id;
            this.key = key;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public String key() {
            return key;
        }

        @Override
        public String functionName() {
            return key.split("/")[1];
        }

        @Override
        public boolean alive() {
            return alive;
        }

        @Override
        public String toString() {
            return id;
        }
    }

    private long now = 1_000_000_000L;
    private final List<Env> tornDown = new ArrayList<>();
    private final EnvironmentPool<Env> pool = new EnvironmentPool<>(IDLE_TIMEOUT, () -> now, tornDown::add);

    @Test
    void shouldHaveNothingIdleAtFirst() {
        assertThat(pool.takeIdle(KEY)).isEmpty();
        assertThat(pool.size()).isZero();
    }

    @Test
    void shouldCountAnEnvironmentFromItsStartUntilItIsDestroyed() {
        EnvironmentPool.Lease<Env> lease = pool.starting(KEY);
        assertThat(pool.size()).as("still starting").isZero();

        pool.started(lease, new Env("e1", KEY));
        assertThat(pool.size()).isEqualTo(1);
        pool.release(lease, true);
        assertThat(pool.size()).as("idle").isEqualTo(1);
        pool.release(pool.takeIdle(KEY).orElseThrow(), false);

        assertThat(pool.size()).isZero();
    }

    @Test
    void shouldGiveAReleasedEnvironmentToTheNextInvocationOfItsKeyOnly() {
        Env e1 = idle("e1", KEY);

        assertThat(pool.takeIdle(OTHER_KEY)).isEmpty();
        Optional<EnvironmentPool.Lease<Env>> taken = pool.takeIdle(KEY);
        assertThat(taken).hasValueSatisfying(lease -> assertThat(lease.environment()).isSameAs(e1));
        assertThat(pool.takeIdle(KEY)).as("busy now").isEmpty();
    }

    @Test
    void shouldTakeTheMostRecentlyUsedFirst() {
        idle("e1", KEY);
        Env e2 = idle("e2", KEY);

        assertThat(pool.takeIdle(KEY).orElseThrow().environment()).isSameAs(e2);
    }

    @Test
    void shouldDestroyDeadIdleEnvironmentsFoundWhenTaking() {
        Env e1 = idle("e1", KEY);
        Env e2 = idle("e2", KEY);
        e2.alive = false;

        assertThat(pool.takeIdle(KEY).orElseThrow().environment()).isSameAs(e1);
        assertThat(tornDown).containsExactly(e2);
        assertThat(pool.size()).isEqualTo(1);
    }

    @Test
    void shouldDestroyAnEnvironmentReleasedAsNotReusableOrDead() {
        EnvironmentPool.Lease<Env> fatal = busy("e1", KEY);
        EnvironmentPool.Lease<Env> dead = busy("e2", KEY);
        dead.environment().alive = false;

        pool.release(fatal, false);
        pool.release(dead, true);

        assertThat(tornDown).extracting(e -> e.id).containsExactly("e1", "e2");
        assertThat(pool.takeIdle(KEY)).isEmpty();
    }

    @Test
    void shouldReapOnlyWhatWasIdleLongerThanTheTimeout() {
        Env old = idle("old", KEY);
        now += IDLE_TIMEOUT.toNanos();
        Env recent = idle("recent", OTHER_KEY);

        pool.reap();
        assertThat(tornDown).as("exactly the timeout is not longer").isEmpty();
        now += 1;
        pool.reap();

        assertThat(tornDown).containsExactly(old);
        assertThat(pool.takeIdle(OTHER_KEY).orElseThrow().environment()).isSameAs(recent);
    }

    @Test
    void shouldReapAnIdleEnvironmentWhoseProcessDied() {
        Env e1 = idle("e1", KEY);
        e1.alive = false;

        pool.reap();

        assertThat(tornDown).containsExactly(e1);
        assertThat(pool.size()).isZero();
    }

    @Test
    void shouldMeasureIdleTimeFromTheLastRelease() {
        idle("e1", KEY);
        now += IDLE_TIMEOUT.toNanos() - 1;
        EnvironmentPool.Lease<Env> lease = pool.takeIdle(KEY).orElseThrow();
        pool.release(lease, true);
        now += IDLE_TIMEOUT.toNanos() - 1;

        pool.reap();

        assertThat(tornDown).isEmpty();
    }

    @Test
    void shouldEndAnEvictedFunctionsIdleEnvironmentsAtOnceAndItsBusyOnesWhenReleased() {
        idle("idle", KEY);
        EnvironmentPool.Lease<Env> running = busy("running", KEY);
        EnvironmentPool.Lease<Env> starting = pool.starting(KEY);
        idle("other", OTHER_KEY);

        assertThat(pool.evict("123456789012/fn/")).isEqualTo(1);
        assertThat(tornDown).extracting(e -> e.id).containsExactly("idle");

        pool.release(running, true);
        pool.started(starting, new Env("started", KEY));
        pool.release(starting, true);
        assertThat(tornDown).extracting(e -> e.id).containsExactly("idle", "running", "started");
        assertThat(pool.takeIdle(OTHER_KEY)).as("another function's").isPresent();
    }

    @Test
    void shouldKeepAFunctionWhoseNameOnlyStartsLikeTheEvictedOne() {
        idle("e1", "123456789012/fn-2/$LATEST/rev-1");

        assertThat(pool.evict("123456789012/fn/")).isZero();
    }

    @Test
    void shouldForgetAFailedColdStart() {
        EnvironmentPool.Lease<Env> lease = pool.starting(KEY);

        pool.failed(lease);

        assertThat(pool.size()).isZero();
        assertThat(tornDown).as("a failed cold start removed what it made").isEmpty();
        assertThatThrownBy(() -> pool.failed(lease)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("from DESTROYED to DESTROYED");
    }

    @Test
    void shouldRefuseToReleaseAnEnvironmentTwice() {
        EnvironmentPool.Lease<Env> lease = busy("e1", KEY);
        pool.release(lease, false);

        assertThatThrownBy(() -> pool.release(lease, false)).isInstanceOf(IllegalStateException.class)
                .hasMessage("execution environment: no transition from DESTROYED to DESTROYED");
        assertThatThrownBy(() -> pool.release(lease, true)).isInstanceOf(IllegalStateException.class)
                .hasMessage("execution environment: no transition from DESTROYED to IDLE");
    }

    @Test
    void shouldRefuseToStartAnEnvironmentTwice() {
        EnvironmentPool.Lease<Env> lease = busy("e1", KEY);

        assertThatThrownBy(() -> pool.started(lease, new Env("e2", KEY))).isInstanceOf(IllegalStateException.class)
                .hasMessage("execution environment: no transition from BUSY to BUSY");
    }

    @Test
    void shouldRefuseAnEnvironmentOfAnotherKeyForALease() {
        EnvironmentPool.Lease<Env> lease = pool.starting(KEY);

        assertThatThrownBy(() -> pool.started(lease, new Env("e1", OTHER_KEY))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldDestroyIdleAndBusyEnvironmentsOnCloseAndIgnoreTheirLateRelease() {
        Env idle = idle("idle", KEY);
        EnvironmentPool.Lease<Env> running = busy("running", KEY);
        EnvironmentPool.Lease<Env> starting = pool.starting(KEY);

        pool.close();
        assertThat(tornDown).containsExactlyInAnyOrder(idle, running.environment());
        assertThat(pool.size()).isZero();

        pool.release(running, true);
        pool.started(starting, new Env("late", KEY));
        pool.release(starting, true);
        assertThat(tornDown).extracting(e -> e.id).containsExactlyInAnyOrder("idle", "running", "late");
        assertThat(pool.takeIdle(KEY)).isEmpty();
        assertThatThrownBy(() -> pool.starting(KEY)).isInstanceOf(IllegalStateException.class);
    }

    private EnvironmentPool.Lease<Env> busy(String id, String key) {
        EnvironmentPool.Lease<Env> lease = pool.starting(key);
        pool.started(lease, new Env(id, key));
        return lease;
    }

    private Env idle(String id, String key) {
        EnvironmentPool.Lease<Env> lease = busy(id, key);
        pool.release(lease, true);
        return lease.environment();
    }
}
