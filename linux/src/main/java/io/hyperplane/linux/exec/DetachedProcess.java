package io.hyperplane.linux.exec;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a long-running process in its own session (so it outlives the command that started it
 * and no terminal signal reaches it), with stdout and stderr appended to a log file, and waits
 * for it to say it is ready.
 */
public final class DetachedProcess {
    private static final int TAIL_LINES = 20;
    private static final Duration POLL = Duration.ofMillis(20);

    private final String name;
    private final Process process;
    private final Path log;

    private DetachedProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    public static DetachedProcess start(String name, List<String> command, Path log) throws IOException {
        return start(name, command, log, true);
    }

    /**
     * As {@link #start(String, List, Path)}; with {@code ownSession} false the process stays in the
     * caller's session, for processes the caller owns and stops. With the kernel's autogroups (on
     * by default) each session is one scheduling group, and nice values only order threads within
     * a group: processes that share the CPU by priority (a background JIT, background work at nice
     * 19, functions run idle) must share a session.
     */
    public static DetachedProcess start(String name, List<String> command, Path log, boolean ownSession) throws IOException {
        List<String> detached = new ArrayList<>();
        if (ownSession) {
            detached.add(Tools.command(Tool.SETSID));
        }
        detached.addAll(command);
        Files.writeString(log, "# " + Commands.commandLine(detached) + "\n", StandardCharsets.UTF_8);
        Process process = new ProcessBuilder(detached)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        return new DetachedProcess(name, process, log);
    }

    /**
     * Waits until a log line contains {@code marker}. Fails at once if the process exits first,
     * and after {@code timeout} otherwise; either way the message ends with the log's last lines.
     */
    public void awaitReady(String marker, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (logLines().stream().anyMatch(line -> !line.startsWith("# ") && line.contains(marker))) {
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with code " + process.exitValue() + " before it was ready; "
                        + "last lines of " + log + ":\n" + tail());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(name + " did not print '" + marker + "' within " + timeout.toSeconds() + " s; "
                        + "last lines of " + log + ":\n" + tail());
            }
            Thread.sleep(POLL);
        }
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    private List<String> logLines() throws IOException {
        try {
            return Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (MalformedInputException e) {
            return List.of(new String(Files.readAllBytes(log), StandardCharsets.UTF_8).split("\n"));
        }
    }

    /** The log's last lines; the command header only when the process printed nothing at all. */
    private String tail() throws IOException {
        List<String> lines = logLines();
        List<String> output = lines.stream().filter(line -> !line.startsWith("# ")).toList();
        List<String> shown = output.isEmpty() ? lines : output;
        return "  " + String.join("\n  ", shown.subList(Math.max(0, shown.size() - TAIL_LINES), shown.size()));
    }
}
