package io.hyperplane.linux.exec;

/** A command exited non-zero or timed out; the message holds the command line, exit code and stderr. */
public final class CommandFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ExecResult result;

    public CommandFailedException(ExecResult result, String why) {
        super("command failed (" + why + "): " + result.commandLine()
                + (result.stderr().isBlank() ? "" : "\n  stderr: " + result.stderr().strip().replace("\n", "\n          ")));
        this.result = result;
    }

    public ExecResult result() {
        return result;
    }
}
