package io.hyperplane.cli;

import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.linux.netns.Namespaces;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "exec", mixinStandardHelpOptions = true,
        description = "Run a command inside an instance, as 'docker exec' does: its output and exit status pass through.")
final class ExecCommand implements Callable<Integer> {
    @Option(names = "--fabric-prefix", defaultValue = LabFabric.DEFAULT_PREFIX, description = "The lab fabric's prefix (default: ${DEFAULT-VALUE}).")
    String prefix;

    @Parameters(index = "0", paramLabel = "INSTANCE-ID", description = "For example i-0123456789abcdef0.")
    String instanceId;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "The command and its arguments (after --).")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (!instanceId.matches("i-[0-9a-f]{8,17}")) {
            throw new IllegalArgumentException("'" + instanceId + "' is not an instance id (i-...)");
        }
        String ns = LabFabric.instanceNamespace(prefix, instanceId);
        if (!Namespaces.list().contains(ns)) {
            throw new IllegalArgumentException("instance " + instanceId + " is not running in the lab fabric (no namespace " + ns + ")");
        }
        return new ProcessBuilder(Namespaces.execIn(ns, command)).inheritIO().start().waitFor();
    }
}
