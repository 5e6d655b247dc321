package io.hyperplane.worker;

import io.hyperplane.runtime.Invocation;
import io.hyperplane.runtime.InvocationOutcome;

import java.time.Duration;

/**
 * An environment's running runtime: its process, the Runtime API it polls, and its output. Made by
 * a {@link RuntimeLauncher} once init is done; {@link SandboxedRuntime} in the worker, fakes in tests.
 * One invocation at a time.
 */
interface RuntimeProcess {

    /** How an invocation ended on the runtime's side. */
    sealed interface Ending {
        /** The runtime answered: {@code /response} or {@code /error}. */
        record Answered(InvocationOutcome outcome) implements Ending {
        }

        /** The function's timeout passed first; the Runtime API has abandoned the invocation. */
        record TimedOut() implements Ending {
        }

        /**
         * The runtime did not answer and its process ended: {@code status} is its exit status (-1 if it
         * still runs, its answer lost), {@code outOfMemory} whether the memory limit killed it.
         */
        record Exited(int status, boolean outOfMemory) implements Ending {
        }
    }

    /** Hands {@code invocation} to the runtime and waits for its answer, its exit, or {@code timeout}. */
    Ending run(Invocation invocation, Duration timeout) throws InterruptedException;

    /** What the process wrote since the last drain (init's output the first time), ending with a newline when there is any; no waiting. */
    String drainLog();

    /** As {@link #drainLog}, once the log has caught up with everything the process had written when this was called. */
    String catchUpAndDrainLog() throws InterruptedException;

    /** The most memory its processes have used, in MB, as the REPORT line's Max Memory Used. */
    long maxMemoryMb();

    boolean alive();

    /**
     * Ends every process of it and removes its Runtime API, cgroup and files (its network is not its own).
     *
     * @return whether every process of it is gone (only then may its uid go to another environment)
     */
    boolean destroy();
}
