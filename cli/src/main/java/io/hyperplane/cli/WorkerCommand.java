package io.hyperplane.cli;

import io.hyperplane.worker.Worker;
import io.hyperplane.worker.WorkerSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a worker: hosts execution environments (namespace + VXLAN to the forwarder nodes + the function's process"
                + " as an unprivileged user + the Lambda Runtime API) and runs the invocations the control plane hands it.")
final class WorkerCommand implements Callable<Integer> {
    @Option(names = "--control", required = true, paramLabel = "URL", description = "The control plane, e.g. http://127.0.0.1:8765.")
    URI control;

    @Option(names = "--token-file", required = true, paramLabel = "FILE", description = "The fleet token (the server's DIR/node-token).")
    Path tokenFile;

    @Option(names = "--netns", required = true, paramLabel = "NS",
            description = "The worker host's namespace: it has the underlay interface hp-ul0; tunnels are made there and moved into environments.")
    String hostNamespace;

    @Option(names = "--underlay-ip", required = true, paramLabel = "IP", description = "The worker host's underlay address (on hp-ul0).")
    String underlayIp;

    @Option(names = "--name", defaultValue = "w1", description = "Worker name, part of environment namespace names (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Journal, code and environments' files (default: /var/lib/hyperplane/worker-NAME).")
    Path stateDir;

    @Option(names = "--network-model", defaultValue = "shared", paramLabel = "shared|legacy",
            description = "shared: environments use their function's Hyperplane ENI (2019); legacy: each environment creates its own ENI"
                    + " during its cold start (pre-2019). Default: ${DEFAULT-VALUE}.")
    String networkModel;

    @Option(names = "--idle-timeout", defaultValue = "300", paramLabel = "SECONDS", description = "Idle environments are reaped after this (default: ${DEFAULT-VALUE}).")
    long idleSeconds;

    @Option(names = "--ready-networks", defaultValue = "" + WorkerSettings.DEFAULT_READY_SLOTS, paramLabel = "N",
            description = "Environment networks (namespace + tunnel + VNI) kept prepared, so a cold start only binds one (default: ${DEFAULT-VALUE}).")
    int readySlots;

    @Override
    public Integer call() throws Exception {
        String token = Files.readString(tokenFile).trim();
        Path state = stateDir != null ? stateDir : Path.of("/var/lib/hyperplane", "worker-" + name);
        WorkerSettings settings = new WorkerSettings(name, control, token, hostNamespace, underlayIp, state,
                WorkerSettings.NetworkModel.parse(networkModel), Duration.ofSeconds(idleSeconds), WorkerSettings.DEFAULT_FIRST_UID,
                WorkerSettings.DEFAULT_INIT_TIMEOUT, readySlots);
        UntilStopped<Worker> run = new UntilStopped<>("hp-worker-shutdown", Worker::close);
        Worker worker = run.start(() -> Worker.start(settings));
        run.announce(() -> {
            System.out.println("hyperplane worker " + name + " ready: " + worker.url() + " (" + settings.networkModel().wireName()
                    + " network model, host namespace " + hostNamespace + ", underlay " + underlayIp + ", state " + state + ")");
            System.out.flush();
        });
        run.awaitStop();
        return 0;
    }
}
