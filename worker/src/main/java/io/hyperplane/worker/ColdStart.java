package io.hyperplane.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * Makes an execution environment for a function version, and tears one down. A cold start is, in
 * order: the network attach ({@link NetworkAttach}), the code (from the {@link CodeCache} or the
 * control plane, verified), a uid of its own ({@link UidLeases}, unique on the machine across
 * workers), and the runtime's launch up to the end of its init ({@link RuntimeLauncher}). Whatever
 * fails, everything made before is removed, in reverse.
 */
final class ColdStart {
    private static final Logger LOG = LoggerFactory.getLogger(ColdStart.class);

    private final NetworkAttach networks;
    private final ControlPlane control;
    private final CodeCache code;
    private final UidLeases uids;
    private final RuntimeLauncher launcher;
    private final WorkerMetrics metrics;

    ColdStart(NetworkAttach networks, ControlPlane control, CodeCache code, UidLeases uids, RuntimeLauncher launcher, WorkerMetrics metrics) {
        this.networks = networks;
        this.control = control;
        this.code = code;
        this.uids = uids;
        this.launcher = launcher;
        this.metrics = metrics;
    }

    /** A new environment for {@code call}'s function version, its runtime initialised, for {@code call} to run in first. */
    ExecutionEnvironment start(FunctionCall call) throws IOException, InterruptedException, ServiceError, InitFailedException {
        FunctionConfig f = call.function();
        long t0 = System.nanoTime();
        NetworkAttach.Attached attached = networks.attach(call);
        EnvironmentNetwork network = attached.network();
        try {
            // Network attach: what the cold start waited for (legacy: including its own ENI's creation).
            double attachMs = (System.nanoTime() - t0) / 1e6;
            byte[] zip = code.get(f.codeSha256(), () -> control.code(f.accountId(), f.functionName(), f.version()));
            int uid = uids.acquire();
            RuntimeLauncher.Launched launched;
            try {
                launched = launcher.launch(new RuntimeLauncher.Launch(network.namespace(), uid, f, call.requestId(), zip));
            } catch (IOException | InterruptedException | InitFailedException | RuntimeException e) {
                uids.release(uid); // the launch removed everything it made, the cgroup's processes included
                throw e;
            }
            ColdStartPhases phases = new ColdStartPhases(attachMs, launched.processStartMs(), launched.sandboxMs(), launched.runtimeInitMs(),
                    attached.eniCreation().ms(), attached.eniCreation().throttled());
            ExecutionEnvironment ee = new ExecutionEnvironment(network.namespace(), uid, f, network, phases, launched.process());
            metrics.coldStarted(phases, (System.nanoTime() - t0) / 1e6);
            LOG.info("environment {} started for {}:{} in {} (attach {} ms, process {} ms, sandbox {} ms, init {} ms)", ee.id(), f.functionName(),
                    f.version(), network.eniId(), fmt(phases.networkAttachMs()), fmt(phases.processStartMs()),
                    fmt(phases.sandboxMs()), fmt(phases.runtimeInitMs()));
            return ee;
        } catch (IOException | InterruptedException | InitFailedException | RuntimeException e) {
            networks.detach(network);
            throw e;
        }
    }

    /** Ends an environment: its runtime, then its uid (only once none of its processes is left) and its network. */
    void tearDown(ExecutionEnvironment ee) {
        if (ee.stopRuntime()) {
            uids.release(ee.uid());
        } else {
            // A process of it survived SIGKILL (stuck in the kernel, say): its uid stays leased until this worker restarts.
            LOG.warn("environment {} still has processes after teardown; uid {} stays leased", ee.id(), ee.uid());
        }
        networks.detach(ee.network());
    }

    private static String fmt(double ms) {
        return String.format("%.1f", ms);
    }
}
