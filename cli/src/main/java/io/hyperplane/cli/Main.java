package io.hyperplane.cli;

import io.hyperplane.linux.PrivateFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hyperplane} command. */
@Command(name = "hyperplane", mixinStandardHelpOptions = true, version = "hyperplane 0.1.0",
        description = "Shared-ENI VPC networking for serverless functions, for real, on one machine.",
        subcommands = {UpCommand.class, DemoCommand.class, ServerCommand.class, DescribeCommand.class, EnisCommand.class, EventsCommand.class, NatGatewaysCommand.class, NodesCommand.class, WorkerCommand.class, ExecCommand.class, NodeCommand.class, StatCommand.class, LabCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        PrivateFiles.restrictUmask(); // before anything is written: every file of ours is private from its creation
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("hyperplane " + commandLine.getCommandName() + ": " + e.getMessage());
            return 1;
        });
        return cli.execute(args);
    }
}
