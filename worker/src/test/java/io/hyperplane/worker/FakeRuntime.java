package io.hyperplane.worker;

import io.hyperplane.runtime.Invocation;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A runtime that ends each invocation as the test queued, and writes the output the test gave it: {@code log}
 * before the invocation (drained without waiting), {@code written} during it (there once the log has caught up).
 */
final class FakeRuntime implements RuntimeProcess {
    final List<Invocation> invocations = new ArrayList<>();
    final List<Duration> timeouts = new ArrayList<>();
    private final Deque<Ending> endings = new ArrayDeque<>();
    private final Deque<String> written = new ArrayDeque<>();
    String log = "";
    boolean alive = true;
    boolean destroyed;
    boolean survivesDestroy;
    long maxMemoryMb = 42;
    /** Runs while an invocation does (the worker doing something else meanwhile). */
    Runnable duringRun = () -> {
    };

    /** The next invocation ends so, having written {@code output}. */
    FakeRuntime then(Ending ending, String output) {
        endings.addLast(ending);
        written.addLast(output);
        return this;
    }

    @Override
    public Ending run(Invocation invocation, Duration timeout) {
        invocations.add(invocation);
        timeouts.add(timeout);
        duringRun.run();
        log += written.removeFirst();
        Ending ending = endings.removeFirst();
        if (ending instanceof Ending.Exited) {
            alive = false;
        }
        return ending;
    }

    @Override
    public String drainLog() {
        String drained = log;
        log = "";
        return drained;
    }

    @Override
    public String catchUpAndDrainLog() {
        return drainLog();
    }

    @Override
    public long maxMemoryMb() {
        return maxMemoryMb;
    }

    @Override
    public boolean alive() {
        return alive;
    }

    @Override
    public boolean destroy() {
        destroyed = true;
        alive = false;
        return !survivesDestroy;
    }
}
