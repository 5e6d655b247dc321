package io.hyperplane.worker;

import java.io.IOException;
import java.util.Objects;

/**
 * Starts an environment's runtime in a network already attached, up to the end of its init.
 * {@link SandboxedRuntimeLauncher} in the worker; a fake in the cold start's tests.
 */
interface RuntimeLauncher {

    /**
     * One launch: the environment {@code id} (also its network namespace's name), the user it runs as,
     * its function, the request that caused it (named in an exit's message) and its code (a zip).
     */
    record Launch(String id, int uid, FunctionConfig function, String requestId, byte[] code) {
        public Launch {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(function, "function");
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(code, "code");
        }
    }

    /**
     * A runtime whose init is done, and how long its phases took (see {@link ColdStartPhases}; {@code sandboxMs}
     * is NaN when the sandbox printed no ready line).
     */
    record Launched(RuntimeProcess process, double processStartMs, double sandboxMs, double runtimeInitMs) {
        public Launched {
            Objects.requireNonNull(process, "process");
        }

        /**
         * The phases from {@link System#nanoTime} readings: the launch's start, the spawn, the end of init, and when the
         * sandbox's ready line was read (0 or less: not at all). A ready line read only after init ended (the log's
         * reader runs when the CPU lets it) says nothing of when the sandbox was made: no sandbox phase then, rather
         * than a negative init.
         */
        static Launched timed(RuntimeProcess process, long startNanos, long spawnedNanos, long initDoneNanos, long sandboxReadyNanos) {
            boolean sandboxSeen = sandboxReadyNanos > 0 && sandboxReadyNanos <= initDoneNanos;
            return new Launched(process, (spawnedNanos - startNanos) / 1e6, sandboxSeen ? (sandboxReadyNanos - spawnedNanos) / 1e6 : Double.NaN,
                    (initDoneNanos - (sandboxSeen ? sandboxReadyNanos : spawnedNanos)) / 1e6);
        }
    }

    /**
     * Starts the runtime and waits for its init to end. On any failure everything it made is removed
     * (its processes, Runtime API, cgroup and files) before it throws.
     *
     * @throws InitFailedException the runtime failed to initialise, as Lambda reports to the caller
     */
    Launched launch(Launch launch) throws IOException, InterruptedException, InitFailedException;
}
