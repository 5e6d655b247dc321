package io.hyperplane.cli;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.LabException;
import io.hyperplane.lab.LabStatus;
import io.hyperplane.lab.NodeLauncher;
import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.spec.LabSpecYaml;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code hyperplane lab up|status|down}: the namespace lab that turns one machine into a cloud
 * (lab/README.md). The options are inherited, so they go before or after the subcommand:
 * {@code hyperplane lab up --file LAB.yaml}, {@code hyperplane lab --prefix hp-x- status --json}.
 */
@Command(name = "lab", mixinStandardHelpOptions = true,
        description = "Build, show and remove the namespace lab: underlay, forwarder nodes, worker host with execution environments, customer VPC.",
        subcommands = {LabCommand.Up.class, LabCommand.Status.class, LabCommand.Down.class})
public final class LabCommand implements Callable<Integer> {
    static final String MAIN_CLASS = "io.hyperplane.cli.Main";
    /** Nodes of the built-in lab: a fleet (DESIGN.md §10), the fewest that is one. */
    static final int DEFAULT_NODES = 2;

    @Option(names = "--file", paramLabel = "LAB.yaml", scope = ScopeType.INHERIT,
            description = "Lab description (default: the built-in default lab, lab/src/main/resources/default-lab.yaml).")
    Path file;

    @Option(names = "--prefix", paramLabel = "PREFIX", scope = ScopeType.INHERIT,
            description = "Prefix of every namespace and link the lab makes (default: the file's prefix, else hp-).")
    String prefix;

    @Option(names = "--state-dir", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = "Where the lab keeps its journal, node config, counters and logs (default: /run/hyperplane/lab/PREFIX).")
    Path stateDir;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "status: print one JSON object instead of a table.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** The lab to build: the file's or the default, under --prefix when given. */
    LabSpec labSpec() {
        LabSpec loaded = file == null ? LabSpecYaml.defaultSpec() : LabSpecYaml.load(file);
        return prefix == null ? loaded : loaded.withPrefix(prefix);
    }

    /** The prefix that names the lab to act on: --prefix, else the file's, else the default. */
    String effectivePrefix() {
        if (prefix != null) {
            return prefix;
        }
        return file == null ? LabSpec.DEFAULT_PREFIX : LabSpecYaml.load(file).prefix();
    }

    Lab lab(String labPrefix, PrintWriter progress) {
        Path dir = stateDir != null ? stateDir : Lab.defaultStateDir(labPrefix);
        return new Lab(dir, line -> {
            progress.println(line);
            progress.flush();
        });
    }

    /** One clear line (plus indented detail lines, if the failure has any) and exit code 1; no stack trace. */
    static int fail(CommandSpec command, RuntimeException e) {
        PrintWriter err = command.commandLine().getErr();
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        err.println("hyperplane " + command.qualifiedName(" ").replaceFirst("^\\S+ ", "") + ": " + message.strip().replace("\n", "\n  "));
        err.flush();
        return 1;
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = "Build the lab, write the nodes' config snapshots, start the service hosts and the forwarder nodes.")
    static final class Up implements Callable<Integer> {
        @ParentCommand
        LabCommand parent;

        @Spec
        CommandSpec spec;

        @Option(names = "--no-node", description = "Build everything but do not start the forwarder nodes.")
        boolean noNode;

        @Option(names = "--nodes", paramLabel = "N",
                description = "Forwarder nodes, 1.." + LabSpec.MAX_NODES + ", each in its own namespace on the next free underlay address"
                        + " (default: " + DEFAULT_NODES + " for the built-in lab; with --file, the file's).")
        Integer nodes;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try {
                LabSpec labSpec = parent.labSpec();
                if (nodes != null || parent.file == null) {
                    labSpec = labSpec.withNodes(nodes != null ? nodes : DEFAULT_NODES);
                }
                Lab lab = parent.lab(labSpec.prefix(), out);
                NodeLauncher launcher = noNode ? null : NodeLauncher.currentJvm(MAIN_CLASS, "node");
                LabStatus status = lab.up(labSpec, launcher);
                out.println();
                out.println(whatToTry(status, lab, noNode));
                out.flush();
                return 0;
            } catch (LabException | IllegalArgumentException | IllegalStateException e) {
                return fail(spec, e);
            }
        }

        private static String whatToTry(LabStatus status, Lab lab, boolean noNode) {
            StringBuilder text = new StringBuilder("What to try:\n");
            String ping = Tools.isAvailable(Tool.PING) ? "ping -c 3" : "ping -c 3   # needs: apt-get install -y iputils-ping;";
            if (!status.executionEnvironments().isEmpty() && !status.resources().isEmpty()) {
                LabStatus.EeStatus ee = status.executionEnvironments().getFirst();
                LabStatus.ResourceStatus resource = status.resources().getFirst();
                text.append("  ip netns exec ").append(ee.namespace()).append(' ').append(ping).append(' ').append(resource.ip())
                        .append("      # EE -> node (NAT onto ").append(ee.eni()).append(") -> VPC")
                        .append(noNode ? "; no node was started (--no-node)" : "").append('\n');
            }
            if (status.resources().size() > 1) {
                LabStatus.ResourceStatus from = status.resources().get(1);
                text.append("  ip netns exec ").append(from.namespace()).append(' ').append(ping).append(' ')
                        .append(status.resources().getFirst().ip()).append("      # across the VPC router, no node involved\n");
            }
            if (status.internet() != null) {
                status.executionEnvironments().stream().filter(ee -> ee.eni().equals(Internet.SERVICE_EGRESS_ENI_ID)).findFirst()
                        .ifPresent(ee -> text.append("  ip netns exec ").append(ee.namespace()).append(" curl -s http://")
                                .append(status.internet().host()).append("/whoami      # EE -> node -> service egress ")
                                .append(status.internet().serviceEgress()).append(" -> the simulated internet\n"));
            }
            String stateOption = lab.stateDir().equals(Lab.defaultStateDir(status.prefix())) ? "" : " --state-dir " + lab.stateDir();
            String prefixOption = status.prefix().equals(LabSpec.DEFAULT_PREFIX) ? "" : " --prefix " + status.prefix();
            if (!noNode) {
                for (LabStatus.NodeStatus node : status.nodes()) {
                    text.append("  tail -f ").append(node.log()).append("      # the node's log\n");
                }
            }
            text.append("  hyperplane lab status").append(prefixOption).append(stateOption).append('\n');
            text.append("  hyperplane lab down").append(prefixOption).append(stateOption);
            return text.toString();
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show the lab that is up (exit code 1 when there is none).")
    static final class Status implements Callable<Integer> {
        @ParentCommand
        LabCommand parent;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try {
                String labPrefix = parent.effectivePrefix();
                Lab lab = parent.lab(labPrefix, spec.commandLine().getErr());
                if (!lab.isUp()) {
                    PrintWriter err = spec.commandLine().getErr();
                    err.println("no lab is up with prefix " + labPrefix + " (no journal in " + lab.stateDir() + ")");
                    err.flush();
                    return 1;
                }
                LabStatus status = lab.status();
                out.println(parent.json ? status.toJson() : status.toTable());
                out.flush();
                return 0;
            } catch (LabException | IllegalArgumentException | IllegalStateException e) {
                return fail(spec, e);
            }
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = "Stop the lab's processes and delete its namespaces and state; safe to repeat, and after a crash.")
    static final class Down implements Callable<Integer> {
        @ParentCommand
        LabCommand parent;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try {
                if (parent.prefix != null || parent.stateDir != null) {
                    parent.lab(parent.effectivePrefix(), spec.commandLine().getOut()).down();
                    return 0;
                }
                // No prefix given: everything the project built on this machine, every journalled
                // lab under the state root (the default lab, benchmark labs, the server's fabric).
                boolean any = false;
                if (Files.isDirectory(Lab.DEFAULT_STATE_ROOT)) {
                    try (var dirs = Files.list(Lab.DEFAULT_STATE_ROOT)) {
                        for (Path dir : dirs.sorted().toList()) {
                            Lab lab = new Lab(dir, line -> spec.commandLine().getOut().println(line));
                            if (lab.isUp()) {
                                lab.down();
                                any = true;
                            }
                        }
                    }
                }
                if (!any) {
                    spec.commandLine().getOut().println("lab: nothing to take down under " + Lab.DEFAULT_STATE_ROOT);
                }
                spec.commandLine().getOut().flush();
                return 0;
            } catch (IOException e) {
                return fail(spec, new IllegalStateException("cannot list " + Lab.DEFAULT_STATE_ROOT + ": " + e.getMessage(), e));
            } catch (LabException | IllegalArgumentException | IllegalStateException e) {
                return fail(spec, e);
            }
        }
    }
}
