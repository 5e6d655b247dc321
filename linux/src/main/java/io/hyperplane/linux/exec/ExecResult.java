package io.hyperplane.linux.exec;

import java.util.List;

/** How a command ended: its exit code and everything it printed. */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr) {
    public ExecResult {
        command = List.copyOf(command);
    }

    public boolean ok() {
        return exitCode == 0;
    }

    public String commandLine() {
        return Commands.commandLine(command);
    }
}
