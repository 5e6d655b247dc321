package io.hyperplane.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code --verbose} for the commands that print their own progress: see {@link ConsoleLogs}. */
final class VerboseOption {
    @Option(names = "--verbose", description = "Show the frameworks' and components' logs on the console instead of in the log file.")
    boolean verbose;

    /** The command's logs: to {@code file}, named in the output, or to the console with --verbose. */
    ConsoleLogs start(Path file) {
        ConsoleLogs logs = ConsoleLogs.start(file, verbose);
        logs.nameIn(System.out);
        return logs;
    }

    /** Runs a command with its logs in {@code file} (or on the console), then puts the console back. */
    int run(Path file, Callable<Integer> command) throws Exception {
        try (ConsoleLogs logs = start(file)) {
            try {
                return command.call();
            } catch (Exception e) {
                throw logs.withDetails(e);
            }
        }
    }
}
