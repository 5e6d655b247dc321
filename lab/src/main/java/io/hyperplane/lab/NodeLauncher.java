package io.hyperplane.lab;

import io.hyperplane.linux.exec.Jvm;

import java.util.ArrayList;
import java.util.List;

/**
 * How to start a forwarder node: a command prefix to which the lab appends
 * {@code --config FILE --listen IP:PORT --name NAME --counters FILE}, then runs inside the
 * node's namespace, detached, logging to the state directory.
 */
public record NodeLauncher(List<String> command) {
    public NodeLauncher {
        command = List.copyOf(command);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("node launcher: command is empty");
        }
    }

    /**
     * This JVM's java binary and classpath running {@code mainClass args...}, e.g.
     * {@code currentJvm("io.hyperplane.cli.Main", "node")}. Native access is enabled for the
     * forwarder's FFM downcalls (recvmmsg/sendmmsg).
     */
    public static NodeLauncher currentJvm(String mainClass, String... args) {
        List<String> command = new ArrayList<>(Jvm.command(List.of("--enable-native-access=ALL-UNNAMED"), mainClass));
        command.addAll(List.of(args));
        return new NodeLauncher(command);
    }
}
