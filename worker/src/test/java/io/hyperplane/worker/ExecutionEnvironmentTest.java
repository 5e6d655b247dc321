package io.hyperplane.worker;

import io.hyperplane.runtime.Invocation;
import io.hyperplane.runtime.InvocationOutcome;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static io.hyperplane.worker.Functions.call;
import static io.hyperplane.worker.Functions.function;
import static io.hyperplane.worker.Functions.text;
import static org.assertj.core.api.Assertions.assertThat;

/** One environment over a fake runtime: what it hands the runtime, and the result and log it makes of each ending. */
class ExecutionEnvironmentTest {
    private static final String REQUEST = "8f5b0a4e-7d0c-4b61-9f1e-3c2a1b0d9e8f";
    private static final ColdStartPhases PHASES = new ColdStartPhases(10.0, 20.0, 5.0, 30.0, Double.NaN, false);

    private final FunctionConfig function = function("fn");
    private final FakeRuntime runtime = new FakeRuntime();
    private final ExecutionEnvironment ee = environment(PHASES);

    private ExecutionEnvironment environment(ColdStartPhases phases) {
        return new ExecutionEnvironment("hp-ee-w1-1", 1_000_000_001, function, new EnvironmentNetwork("hp-ee-w1-1", 0, null, null, null, null),
                phases, runtime);
    }

    @Test
    void shouldHandTheRuntimeTheEventWithLambdasContext() throws Exception {
        long before = System.currentTimeMillis();
        runtime.then(new RuntimeProcess.Ending.Answered(new InvocationOutcome.Success(new byte[0])), "");

        ee.invoke(call(function, REQUEST));

        Invocation handed = runtime.invocations.getFirst();
        assertThat(handed.requestId()).isEqualTo(REQUEST);
        assertThat(text(handed.payload())).isEqualTo("{}");
        assertThat(handed.invokedFunctionArn()).isEqualTo(Functions.ARN + "fn");
        assertThat(handed.deadlineEpochMillis()).isBetween(before + 3000, System.currentTimeMillis() + 3000);
        assertThat(handed.traceId()).matches("Root=1-[0-9a-f]{8}-8f5b0a4e7d0c4b619f1e3c2a;Sampled=0");
        assertThat(runtime.timeouts).containsExactly(Duration.ofSeconds(3));
    }

    @Test
    void shouldLogAColdInvocationWithInitsOutputAndTheColdStartsPhases() throws Exception {
        runtime.log = "init line\n";
        runtime.then(new RuntimeProcess.Ending.Answered(new InvocationOutcome.Success("\"hi\"".getBytes(StandardCharsets.UTF_8))), "said hi\n");

        ExecutionEnvironment.Ran ran = ee.invoke(call(function, REQUEST));

        assertThat(ran.functionError()).isFalse();
        assertThat(ran.fatal()).isFalse();
        assertThat(text(ran.payload())).isEqualTo("\"hi\"");
        assertThat(ran.log()).matches("""
                init line
                START RequestId: %1$s Version: \\$LATEST
                said hi
                END RequestId: %1$s
                REPORT RequestId: %1$s\tDuration: [0-9]+\\.[0-9]{2} ms\tBilled Duration: [0-9]+ ms\tMemory Size: 128 MB\t\
                Max Memory Used: 42 MB\tInit Duration: 55.00 ms\tNetwork Attach: 10.00 ms\tProcess Start: 20.00 ms\t\
                Sandbox: 5.00 ms\tRuntime Init: 30.00 ms\t
                """.formatted(REQUEST));
    }

    @Test
    void shouldLogAWarmInvocationWithoutInit() throws Exception {
        runtime.then(new RuntimeProcess.Ending.Answered(new InvocationOutcome.Success(new byte[0])), "");
        runtime.then(new RuntimeProcess.Ending.Answered(new InvocationOutcome.Success(new byte[0])), "second\n");
        ee.invoke(call(function, REQUEST));

        String log = ee.invoke(call(function, REQUEST)).log();

        assertThat(log).startsWith("START RequestId: " + REQUEST + " Version: $LATEST\nsecond\nEND RequestId: " + REQUEST + "\n");
        assertThat(log).doesNotContain("Init Duration").endsWith("Max Memory Used: 42 MB\t\n");
    }

    @Test
    void shouldReportALegacyEnisCreationAndItsThrottling() throws Exception {
        ExecutionEnvironment legacy = environment(new ColdStartPhases(210.0, 20.0, Double.NaN, 30.0, 200.0, true));
        runtime.then(new RuntimeProcess.Ending.Answered(new InvocationOutcome.Success(new byte[0])), "");

        String log = legacy.invoke(call(function, REQUEST)).log();

        assertThat(log).contains("Init Duration: 50.00 ms\tNetwork Attach: 210.00 ms\tProcess Start: 20.00 ms\tSandbox: NaN ms\t"
                + "Runtime Init: 30.00 ms\tENI Creation: 200.00 ms (throttled)\t\n");
    }

    @Test
    void shouldReturnTheRuntimesErrorAsAFunctionErrorThatKeepsTheEnvironment() throws Exception {
        String error = "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\"}";
        runtime.then(new RuntimeProcess.Ending.Answered(new InvocationOutcome.FunctionError("ValueError", error.getBytes(StandardCharsets.UTF_8))),
                "Traceback\n");

        ExecutionEnvironment.Ran ran = ee.invoke(call(function, REQUEST));

        assertThat(ran.functionError()).isTrue();
        assertThat(ran.fatal()).isFalse();
        assertThat(text(ran.payload())).isEqualTo(error);
        assertThat(ran.log()).contains("Traceback\nEND RequestId");
    }

    @Test
    void shouldReportATimeoutAsLambdaDoesAndEndTheEnvironment() throws Exception {
        runtime.then(new RuntimeProcess.Ending.TimedOut(), "working...\n");

        ExecutionEnvironment.Ran ran = ee.invoke(call(function, REQUEST));

        assertThat(ran.fatal()).isTrue();
        assertThat(ran.functionError()).isTrue();
        assertThat(text(ran.payload())).matches("\\{\"errorMessage\":\"\\S+Z " + REQUEST + " Task timed out after 3.00 seconds\","
                + "\"errorType\":\"Sandbox.Timedout\"}");
        assertThat(ran.log()).containsPattern("working...\n\\S+Z " + REQUEST + " Task timed out after 3.00 seconds\nEND RequestId");
    }

    @Test
    void shouldReportTheRuntimesExitWithItsStatus() throws Exception {
        runtime.then(new RuntimeProcess.Ending.Exited(3, false), "");

        ExecutionEnvironment.Ran ran = ee.invoke(call(function, REQUEST));

        assertThat(ran.fatal()).isTrue();
        assertThat(text(ran.payload())).isEqualTo("{\"errorMessage\":\"RequestId: " + REQUEST + " Error: Runtime exited with error: exit status 3\","
                + "\"errorType\":\"Runtime.ExitError\"}");
        assertThat(ran.log()).contains("RequestId: " + REQUEST + " Error: Runtime exited with error: exit status 3\nEND RequestId");
    }

    @Test
    void shouldReportTheMemoryLimitsKillAsOutOfMemory() throws Exception {
        runtime.then(new RuntimeProcess.Ending.Exited(137, true), "");

        ExecutionEnvironment.Ran ran = ee.invoke(call(function, REQUEST));

        assertThat(text(ran.payload())).isEqualTo("{\"errorMessage\":\"RequestId: " + REQUEST + " Error: Runtime exited with error: signal: killed\","
                + "\"errorType\":\"Runtime.OutOfMemory\"}");
    }

    @Test
    void shouldBeAliveWhileItsRuntimeIs() {
        assertThat(ee.alive()).isTrue();
        assertThat(ee.key()).isEqualTo(function.environmentKey());

        assertThat(ee.stopRuntime()).isTrue();

        assertThat(runtime.destroyed).isTrue();
        assertThat(ee.alive()).isFalse();
    }
}
