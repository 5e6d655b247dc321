package io.hyperplane.worker;

import io.hyperplane.runtime.InvocationOutcome;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import static io.hyperplane.worker.Functions.call;
import static io.hyperplane.worker.Functions.function;
import static io.hyperplane.worker.Functions.inVpc;
import static io.hyperplane.worker.Functions.subnet;
import static io.hyperplane.worker.Functions.text;
import static io.hyperplane.worker.Functions.withCode;
import static org.assertj.core.api.Assertions.assertThat;

/** Invocations warm and cold over the real pool and cold start, with fake networks, control plane and runtimes. */
class InvokerTest {
    private static final String REQUEST = "8f5b0a4e-7d0c-4b61-9f1e-3c2a1b0d9e8f";
    private static final byte[] CODE = "zip".getBytes(StandardCharsets.UTF_8);
    private static final RuntimeProcess.Ending OK = new RuntimeProcess.Ending.Answered(new InvocationOutcome.Success("1".getBytes(StandardCharsets.UTF_8)));

    @TempDir
    Path leases;
    private final FakeNetworkSource networks = new FakeNetworkSource();
    private final FakeControlPlane control = new FakeControlPlane();
    private final FakeLauncher launcher = new FakeLauncher();
    private final WorkerMetrics metrics = new WorkerMetrics();
    private final FunctionConfig function = withCode(function("fn"), CODE);
    private EnvironmentPool<ExecutionEnvironment> pool;
    private Invoker invoker;

    @BeforeEach
    void wire() {
        control.code = CODE;
        ColdStart coldStart = new ColdStart(new NetworkAttach(WorkerSettings.NetworkModel.SHARED, networks, control, () -> control.nodes, metrics),
                control, new CodeCache(CodeCache.DEFAULT_MAX_BYTES), new UidLeases("t", 1_000_000_000, leases), launcher, metrics);
        pool = new EnvironmentPool<>(Duration.ofMinutes(5), System::nanoTime, coldStart::tearDown);
        invoker = new Invoker(pool, coldStart, metrics);
    }

    @Test
    void shouldColdStartTheFirstInvocationAndRunTheNextInTheSameEnvironment() throws Exception {
        launcher.runtimes = () -> new FakeRuntime().then(OK, "").then(OK, "");

        InvocationEnd first = invoker.invoke(call(function, REQUEST));
        InvocationEnd second = invoker.invoke(call(function, REQUEST));

        for (InvocationEnd result : List.of(first, second)) {
            assertThat(result).isInstanceOfSatisfying(InvocationEnd.Completed.class, r -> {
                assertThat(r.functionError()).isFalse();
                assertThat(text(r.payload())).isEqualTo("1");
            });
        }
        assertThat(launcher.launches).as("one cold start; the second ran warm in its environment").hasSize(1);
        assertThat(pool.size()).isEqualTo(1);
        assertThat(metrics.json(1, 0, control.bindsAnswered()).path("invocations").asLong()).isEqualTo(2);
    }

    @Test
    void shouldNotShareAnEnvironmentBetweenFunctionVersions() throws Exception {
        launcher.runtimes = () -> new FakeRuntime().then(OK, "");
        FunctionConfig other = withCode(function("other"), CODE);

        invoker.invoke(call(function, REQUEST));
        invoker.invoke(call(other, REQUEST));

        assertThat(launcher.launches).as("a cold start each").hasSize(2);
        assertThat(pool.size()).isEqualTo(2);
    }

    @Test
    void shouldDestroyAnEnvironmentWhoseInvocationTimedOutAndColdStartTheNext() throws Exception {
        Deque<FakeRuntime> runtimes = new ArrayDeque<>(List.of(new FakeRuntime().then(new RuntimeProcess.Ending.TimedOut(), ""),
                new FakeRuntime().then(OK, "")));
        launcher.runtimes = runtimes::removeFirst;

        InvocationEnd timedOut = invoker.invoke(call(function, REQUEST));
        InvocationEnd next = invoker.invoke(call(function, REQUEST));

        assertThat(((InvocationEnd.Completed) timedOut).functionError()).isTrue();
        assertThat(launcher.launched.getFirst().destroyed).isTrue();
        assertThat(((InvocationEnd.Completed) next).functionError()).isFalse();
        assertThat(launcher.launches).as("the next invocation started a new environment").hasSize(2);
        assertThat(networks.discarded).containsExactly(launcher.launches.getFirst().id());
    }

    @Test
    void shouldAnswerAnInitFailureAsTheFunctionsErrorWithInitsReport() throws Exception {
        launcher.initFailure = InitFailedException.of("Runtime.ImportModuleError", "Unable to import module 'app'", "Unable to import module 'app'",
                "Traceback\n");

        InvocationEnd result = invoker.invoke(call(function, REQUEST));

        assertThat(result).isInstanceOfSatisfying(InvocationEnd.InitFailed.class, r -> {
            assertThat(text(r.payload())).isEqualTo("{\"errorMessage\":\"Unable to import module 'app'\",\"errorType\":\"Runtime.ImportModuleError\"}");
            assertThat(r.log()).isEqualTo("Traceback\nINIT_REPORT Init Duration: n/a\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError\n"
                    + "START RequestId: " + REQUEST + " Version: $LATEST\nEND RequestId: " + REQUEST + "\n");
        });
        assertThat(pool.size()).isZero();
        assertThat(metrics.json(0, 0, control.bindsAnswered()).path("initFailures").asLong()).isEqualTo(1);
    }

    @Test
    void shouldAnswerAServiceErrorOfTheColdStartWithItsTypeAndStatus() throws Exception {
        control.nodes = List.of();

        InvocationEnd result = invoker.invoke(call(withCode(inVpc("fn", subnet("subnet-a", "eni-a")), CODE), REQUEST));

        assertThat(result).isEqualTo(new InvocationEnd.Failed("ServiceException", 500, "No forwarder node is live: the function's VPC cannot be reached."));
    }

    @Test
    void shouldAnswerAnyOtherColdStartFailureAsAServiceException() throws Exception {
        control.codeFailure = new IOException("code of fn:$LATEST: HTTP 404");

        InvocationEnd result = invoker.invoke(call(function, REQUEST));

        assertThat(result).isEqualTo(new InvocationEnd.Failed("ServiceException", 500, "The environment could not be started: code of fn:$LATEST: HTTP 404"));
        assertThat(pool.size()).isZero();
    }

    @Test
    void shouldEndAnEnvironmentOfAFunctionDeletedWhileItRan() throws Exception {
        FakeRuntime runtime = new FakeRuntime().then(OK, "");
        runtime.duringRun = () -> pool.evict(FunctionConfig.functionPrefix(function.accountId(), function.functionName()));
        launcher.runtimes = () -> runtime;

        InvocationEnd result = invoker.invoke(call(function, REQUEST));

        assertThat(((InvocationEnd.Completed) result).functionError()).as("the invocation itself completes").isFalse();
        assertThat(runtime.destroyed).isTrue();
        assertThat(pool.size()).isZero();
    }

    @Test
    void shouldKeepEnvironmentsMadeAfterAFunctionOfThatNameWasDeleted() throws Exception {
        launcher.runtimes = () -> new FakeRuntime().then(OK, "");

        pool.evict(FunctionConfig.functionPrefix(function.accountId(), function.functionName()));
        invoker.invoke(call(function, REQUEST));

        assertThat(launcher.launched.getFirst().destroyed).isFalse();
        assertThat(pool.size()).isEqualTo(1);
    }
}
