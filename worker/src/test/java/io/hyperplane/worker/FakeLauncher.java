package io.hyperplane.worker;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/** Launches {@link FakeRuntime}s (from {@code runtimes}), or fails as the test says; records every launch. */
final class FakeLauncher implements RuntimeLauncher {
    final List<Launch> launches = Collections.synchronizedList(new ArrayList<>());
    final List<FakeRuntime> launched = Collections.synchronizedList(new ArrayList<>());
    volatile Supplier<FakeRuntime> runtimes = FakeRuntime::new;
    volatile InitFailedException initFailure;
    volatile IOException failure;

    @Override
    public Launched launch(Launch launch) throws IOException, InitFailedException {
        launches.add(launch);
        if (initFailure != null) {
            throw initFailure;
        }
        if (failure != null) {
            throw failure;
        }
        FakeRuntime runtime = runtimes.get();
        launched.add(runtime);
        return new Launched(runtime, 12.5, 3.25, 40.0);
    }
}
