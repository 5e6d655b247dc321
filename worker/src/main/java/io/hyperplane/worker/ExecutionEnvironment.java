package io.hyperplane.worker;

import io.hyperplane.runtime.Invocation;
import io.hyperplane.runtime.InvocationOutcome;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One execution environment: a network namespace tunnelled to the forwarder nodes (its
 * {@link EnvironmentNetwork}), a uid of its own, and the function's runtime running there (its
 * {@link RuntimeProcess}, with the Lambda Runtime API on 127.0.0.1:{@value #RUNTIME_API_PORT}). It runs
 * one invocation at a time and writes the invocation's log as Lambda does: START, the function's
 * output, END and the REPORT line (after a cold start with Init Duration and the phases).
 */
final class ExecutionEnvironment implements EnvironmentPool.Pooled {
    /** Where every environment's Runtime API listens, inside its own namespace (AWS_LAMBDA_RUNTIME_API). */
    static final int RUNTIME_API_PORT = 9001;
    /** The error type Lambda gives an invocation that ran past the function's timeout. */
    private static final String SANDBOX_TIMED_OUT = "Sandbox.Timedout";

    /**
     * One invocation's end: the function's response or error ({@code functionError}), the log of the
     * invocation, and whether the environment must be destroyed ({@code fatal}: it timed out or its
     * runtime exited).
     */
    record Ran(boolean functionError, byte[] payload, String log, boolean fatal) {
        Ran {
            Objects.requireNonNull(payload, "payload");
            Objects.requireNonNull(log, "log");
        }
    }

    /** What the runtime's ending means for the caller and for this environment. */
    private record Outcome(boolean functionError, byte[] payload, boolean fatal) {
    }

    private final String id;
    private final int uid;
    private final FunctionConfig function;
    private final EnvironmentNetwork network;
    private final ColdStartPhases phases;
    private final RuntimeProcess runtime;
    /** Invocations run one at a time, each after the pool's lock has handed the environment over. */
    private boolean invokedBefore;

    ExecutionEnvironment(String id, int uid, FunctionConfig function, EnvironmentNetwork network, ColdStartPhases phases, RuntimeProcess runtime) {
        this.id = Objects.requireNonNull(id, "id");
        this.uid = uid;
        this.function = Objects.requireNonNull(function, "function");
        this.network = Objects.requireNonNull(network, "network");
        this.phases = Objects.requireNonNull(phases, "phases");
        this.runtime = Objects.requireNonNull(runtime, "runtime");
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String key() {
        return function.environmentKey();
    }

    @Override
    public String functionName() {
        return function.functionName();
    }

    @Override
    public boolean alive() {
        return runtime.alive();
    }

    int uid() {
        return uid;
    }

    EnvironmentNetwork network() {
        return network;
    }

    /** How its cold start went. */
    ColdStartPhases phases() {
        return phases;
    }

    /** Ends its runtime (see {@link RuntimeProcess#destroy}); its network and uid are the caller's. */
    boolean stopRuntime() {
        return runtime.destroy();
    }

    /** Runs one invocation of its function version. */
    Ran invoke(FunctionCall call) throws InterruptedException {
        boolean cold = !invokedBefore;
        invokedBefore = true;
        int timeoutSeconds = call.function().timeoutSeconds();
        String preamble = runtime.drainLog(); // init's output on a cold start; on a warm one, what came after the last END
        long deadline = System.currentTimeMillis() + timeoutSeconds * 1000L;
        long start = System.nanoTime();
        RuntimeProcess.Ending ending = runtime.run(new Invocation(call.requestId(), call.payload(), deadline, call.functionArn(),
                traceId(call.requestId()), call.clientContext(), null), Duration.ofSeconds(timeoutSeconds));
        double durationMs = (System.nanoTime() - start) / 1e6;
        StringBuilder text = new StringBuilder(preamble);
        text.append("START RequestId: ").append(call.requestId()).append(" Version: ").append(call.function().version()).append('\n')
                .append(runtime.catchUpAndDrainLog());
        Outcome outcome = switch (ending) {
            case RuntimeProcess.Ending.Answered(InvocationOutcome.Success success) -> new Outcome(false, success.payload(), false);
            case RuntimeProcess.Ending.Answered(InvocationOutcome.FunctionError error) -> new Outcome(true, error.body(), false);
            case RuntimeProcess.Ending.TimedOut timedOut -> {
                String message = Instant.now() + " " + call.requestId() + " Task timed out after " + String.format("%.2f", timeoutSeconds * 1.0)
                        + " seconds";
                text.append(message).append('\n');
                yield new Outcome(true, errorJson(SANDBOX_TIMED_OUT, message), true);
            }
            case RuntimeProcess.Ending.Exited exited -> {
                // The memory limit's kill is reported as AWS reports it; any other exit with the runtime's status.
                String message = "RequestId: " + call.requestId() + " Error: Runtime exited with error: "
                        + (exited.outOfMemory() ? "signal: killed" : "exit status " + exited.status());
                text.append(message).append('\n');
                yield new Outcome(true, errorJson(exited.outOfMemory() ? "Runtime.OutOfMemory" : "Runtime.ExitError", message), true);
            }
        };
        text.append("END RequestId: ").append(call.requestId()).append('\n');
        text.append("REPORT RequestId: ").append(call.requestId()).append("\tDuration: ").append(String.format("%.2f", durationMs))
                .append(" ms\tBilled Duration: ").append((long) Math.ceil(durationMs)).append(" ms\tMemory Size: ").append(call.function().memoryMb())
                .append(" MB\tMax Memory Used: ").append(runtime.maxMemoryMb()).append(" MB\t");
        if (cold) {
            text.append("Init Duration: ").append(String.format("%.2f", phases.initMs())).append(" ms\tNetwork Attach: ")
                    .append(String.format("%.2f", phases.networkAttachMs())).append(" ms\tProcess Start: ")
                    .append(String.format("%.2f", phases.processStartMs())).append(" ms\tSandbox: ")
                    .append(String.format("%.2f", phases.sandboxMs())).append(" ms\tRuntime Init: ")
                    .append(String.format("%.2f", phases.runtimeInitMs())).append(" ms\t");
            if (!Double.isNaN(phases.eniCreationMs())) {
                // legacy model: the environment's own ENI, created during this cold start (part of Network Attach)
                text.append("ENI Creation: ").append(String.format("%.2f", phases.eniCreationMs())).append(" ms")
                        .append(phases.eniThrottled() ? " (throttled)" : "").append('\t');
            }
        }
        text.append('\n');
        return new Ran(outcome.functionError(), outcome.payload(), text.toString(), outcome.fatal());
    }

    /** The X-Ray trace header the runtime gets: a root made of the time and the request id, not sampled. */
    private static String traceId(String requestId) {
        return "Root=1-" + Long.toHexString(System.currentTimeMillis() / 1000) + "-" + requestId.replace("-", "").substring(0, 24) + ";Sampled=0";
    }

    private static byte[] errorJson(String type, String message) {
        return InitFailedException.errorJson(type, message).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "ExecutionEnvironment[" + id + ", " + key() + "]";
    }
}
