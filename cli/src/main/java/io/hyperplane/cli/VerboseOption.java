package io.hyperplane.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code --verbose} for the commands that print their own progress: see {@link ConsoleLogs}. */
final class VerboseOption {
    @Option(names = "--verbose", description = "Show the frameworks' and components' logs on the console instead of in the log file.")
    boolean verbose;

    /** The command's logs: to {@code file}, or to the console with --verbose. */
    ConsoleLogs start(Path file) {
        return ConsoleLogs.start(file, verbose);
    }
}
