package io.hyperplane.worker;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A launch's phases from its clock readings, and a sandbox ready line its reader saw late. */
class LaunchedTest {
    private static final long MS = 1_000_000L;
    private final FakeRuntime runtime = new FakeRuntime();

    @Test
    void shouldSplitTheLaunchAtTheSpawnAndTheSandboxsReadyLine() {
        RuntimeLauncher.Launched launched = RuntimeLauncher.Launched.timed(runtime, 100 * MS, 130 * MS, 200 * MS, 145 * MS);

        assertThat(launched.processStartMs()).isEqualTo(30.0);
        assertThat(launched.sandboxMs()).isEqualTo(15.0);
        assertThat(launched.runtimeInitMs()).isEqualTo(55.0);
        assertThat(launched.process()).isSameAs(runtime);
    }

    @Test
    void shouldHaveNoSandboxPhaseWithoutAReadyLine() {
        RuntimeLauncher.Launched launched = RuntimeLauncher.Launched.timed(runtime, 100 * MS, 130 * MS, 200 * MS, -1);

        assertThat(launched.sandboxMs()).isNaN();
        assertThat(launched.runtimeInitMs()).isEqualTo(70.0);
    }

    @Test
    void shouldHaveNoSandboxPhaseWhenTheReadyLineWasReadAfterInitEnded() {
        RuntimeLauncher.Launched launched = RuntimeLauncher.Launched.timed(runtime, 100 * MS, 130 * MS, 200 * MS, 210 * MS);

        assertThat(launched.sandboxMs()).isNaN();
        assertThat(launched.runtimeInitMs()).as("never negative").isEqualTo(70.0);
    }
}
