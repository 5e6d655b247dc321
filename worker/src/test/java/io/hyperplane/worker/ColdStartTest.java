package io.hyperplane.worker;

import io.hyperplane.config.fabric.Internet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.hyperplane.worker.Functions.call;
import static io.hyperplane.worker.Functions.function;
import static io.hyperplane.worker.Functions.inVpc;
import static io.hyperplane.worker.Functions.subnet;
import static io.hyperplane.worker.Functions.withCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A cold start with its neighbours faked: networks as names, a control plane, a launcher of fake runtimes; uid leases in a temp dir. */
class ColdStartTest {
    private static final String REQUEST = "8f5b0a4e-7d0c-4b61-9f1e-3c2a1b0d9e8f";
    private static final byte[] CODE = "zip bytes".getBytes(StandardCharsets.UTF_8);
    private static final int FIRST_UID = 1_000_000_000;

    @TempDir
    Path leases;
    private final FakeNetworkSource networks = new FakeNetworkSource();
    private final FakeControlPlane control = new FakeControlPlane();
    private final FakeLauncher launcher = new FakeLauncher();
    private final WorkerMetrics metrics = new WorkerMetrics();
    private final CodeCache code = new CodeCache(CodeCache.DEFAULT_MAX_BYTES);
    private ColdStart coldStart;

    @BeforeEach
    void wire() {
        control.code = CODE;
        coldStart = new ColdStart(new NetworkAttach(WorkerSettings.NetworkModel.SHARED, networks, control, () -> control.nodes, metrics), control,
                code, new UidLeases("t", FIRST_UID, leases), launcher, metrics);
    }

    @Test
    void shouldLaunchTheRuntimeInTheAttachedNamespaceAsAUserOfItsOwnWithTheVerifiedCode() throws Exception {
        FunctionConfig f = withCode(inVpc("fn", subnet("subnet-a", "eni-a")), CODE);

        ExecutionEnvironment ee = coldStart.start(call(f, REQUEST));

        RuntimeLauncher.Launch launch = launcher.launches.getFirst();
        assertThat(launch.id()).isEqualTo(ee.id()).isEqualTo(ee.network().namespace());
        assertThat(launch.uid()).isEqualTo(ee.uid()).isEqualTo(FIRST_UID);
        assertThat(launch.function()).isEqualTo(f);
        assertThat(launch.requestId()).isEqualTo(REQUEST);
        assertThat(launch.code()).isEqualTo(CODE);
        assertThat(ee.network().eniId()).isEqualTo("eni-a");
        assertThat(ee.key()).isEqualTo(f.environmentKey());
        assertThat(leases.resolve(Integer.toString(FIRST_UID))).hasContent("t");
    }

    @Test
    void shouldStartAFunctionWithoutAVpcOnTheServiceEgressWithTheServicesResolver() throws Exception {
        FunctionConfig f = withCode(function("fn"), CODE);

        ExecutionEnvironment ee = coldStart.start(call(f, REQUEST));

        assertThat(networks.binds).containsExactly(new FakeNetworkSource.Bind(ee.id(), Internet.SERVICE_EGRESS_ENI_ID, null));
        assertThat(ee.network().eniId()).isEqualTo(Internet.SERVICE_EGRESS_ENI_ID);
        assertThat(launcher.launches.getFirst().function().nameserver()).isEqualTo(Internet.SERVICE_RESOLVER);
    }

    @Test
    void shouldMeasureTheAttachAndTakeTheLaunchersPhases() throws Exception {
        ExecutionEnvironment ee = coldStart.start(call(withCode(function("fn"), CODE), REQUEST));

        ColdStartPhases phases = ee.phases();
        assertThat(phases.networkAttachMs()).isGreaterThanOrEqualTo(0);
        assertThat(phases.processStartMs()).isEqualTo(12.5);
        assertThat(phases.sandboxMs()).isEqualTo(3.25);
        assertThat(phases.runtimeInitMs()).isEqualTo(40.0);
        assertThat(phases.eniCreationMs()).isNaN();
        assertThat(metrics.json(0, 0, control.bindsAnswered()).path("coldStarts").asLong()).isEqualTo(1);
    }

    @Test
    void shouldFetchTheCodeOnceForTwoColdStarts() throws Exception {
        FunctionConfig f = withCode(function("fn"), CODE);

        coldStart.start(call(f, REQUEST));
        ExecutionEnvironment second = coldStart.start(call(f, REQUEST));

        assertThat(control.codeFetches).hasValue(1);
        assertThat(second.uid()).as("a uid of its own").isEqualTo(FIRST_UID + 1);
    }

    @Test
    void shouldRefuseCodeWhoseDigestIsNotTheFunctionsAndRemoveTheNetwork() {
        FunctionConfig f = withCode(function("fn"), "other code".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(() -> coldStart.start(call(f, REQUEST))).isInstanceOf(CodeCache.CodeMismatchException.class);

        assertThat(networks.discarded).containsExactly("hp-ee-t-1");
        assertThat(launcher.launches).isEmpty();
        assertThat(leasedUids()).isEmpty();
    }

    @Test
    void shouldGiveBackTheUidAndTheNetworkWhenInitFails() {
        launcher.initFailure = InitFailedException.of("Runtime.ImportModuleError", "Unable to import module 'app'", "Unable to import module 'app'", "");

        assertThatThrownBy(() -> coldStart.start(call(withCode(function("fn"), CODE), REQUEST))).isSameAs(launcher.initFailure);

        assertThat(leasedUids()).isEmpty();
        assertThat(networks.discarded).containsExactly("hp-ee-t-1");
        assertThat(metrics.json(0, 0, control.bindsAnswered()).path("coldStarts").asLong()).isZero();
    }

    @Test
    void shouldGiveBackTheUidAndTheNetworkWhenTheLaunchFails() {
        launcher.failure = new IOException("bwrap: not found");

        assertThatThrownBy(() -> coldStart.start(call(withCode(function("fn"), CODE), REQUEST))).isSameAs(launcher.failure);

        assertThat(leasedUids()).isEmpty();
        assertThat(networks.discarded).hasSize(1);
    }

    @Test
    void shouldMakeNothingWhenTheAttachFails() {
        control.nodes = List.of();

        assertThatThrownBy(() -> coldStart.start(call(withCode(inVpc("fn", subnet("subnet-a", "eni-a")), CODE), REQUEST)))
                .isInstanceOf(ServiceError.class);

        assertThat(control.codeFetches).hasValue(0);
        assertThat(launcher.launches).isEmpty();
        assertThat(networks.discarded).isEmpty();
    }

    @Test
    void shouldTearDownTheRuntimeThenGiveBackItsUidAndNetwork() throws Exception {
        ExecutionEnvironment ee = coldStart.start(call(withCode(function("fn"), CODE), REQUEST));

        coldStart.tearDown(ee);

        assertThat(launcher.launched.getFirst().destroyed).isTrue();
        assertThat(leasedUids()).isEmpty();
        assertThat(networks.discarded).containsExactly(ee.id());
    }

    @Test
    void shouldKeepTheUidLeasedWhileAProcessOfTheEnvironmentSurvives() throws Exception {
        launcher.runtimes = () -> {
            FakeRuntime stuck = new FakeRuntime();
            stuck.survivesDestroy = true;
            return stuck;
        };
        ExecutionEnvironment ee = coldStart.start(call(withCode(function("fn"), CODE), REQUEST));

        coldStart.tearDown(ee);

        assertThat(leasedUids()).containsExactly(Integer.toString(ee.uid()));
        assertThat(networks.discarded).containsExactly(ee.id());
    }

    private List<String> leasedUids() {
        try (var files = Files.list(leases)) {
            return files.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
