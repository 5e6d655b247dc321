package io.hyperplane.linux.exec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Runs short external commands with a timeout, capturing what they print. */
public final class Commands {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);
    // After the process exits, how long to wait for its output; a detached grandchild may hold the pipes open.
    private static final Duration DRAIN = Duration.ofSeconds(2);
    private static final Pattern PLAIN_WORD = Pattern.compile("[A-Za-z0-9_./:=@%+,-]+");

    private static final ThreadLocal<Boolean> BACKGROUND = ThreadLocal.withInitial(() -> false);
    private static final List<String> NICE = List.of("nice", "-n", "19");

    private Commands() {
    }

    /**
     * Runs {@code work} with every command it runs on this thread at the lowest CPU priority
     * (nice 19): background convergence yields the CPU to work someone waits for.
     */
    public static <T> T inBackground(Supplier<T> work) {
        boolean before = BACKGROUND.get();
        BACKGROUND.set(true);
        try {
            return work.get();
        } finally {
            BACKGROUND.set(before);
        }
    }

    /** Marks the calling thread as background for good: every command it runs from now on runs at nice 19. */
    public static void inBackgroundFromNow() {
        BACKGROUND.set(true);
    }

    /** {@code command} as this thread starts it: behind {@code nice -n 19} on a background thread. */
    public static List<String> asStarted(List<String> command) {
        if (!BACKGROUND.get()) {
            return command;
        }
        List<String> started = new ArrayList<>(NICE);
        started.addAll(command);
        return started;
    }

    /** Runs and returns however it ended; a timeout reports exit code -1 and says so on stderr. */
    public static ExecResult run(Duration timeout, List<String> command) {
        return run(timeout, command, null);
    }

    /**
     * As {@link #run(Duration, List)}, with {@code input} (null: none) on the command's standard
     * input: what would otherwise go through a temporary file, which a kill -9 at the wrong moment
     * would leave behind.
     */
    public static ExecResult run(Duration timeout, List<String> command, String input) {
        Process process;
        try {
            process = new ProcessBuilder(asStarted(command)).start();
        } catch (IOException e) {
            return new ExecResult(command, 127, "", e.getMessage());
        }
        FutureTask<String> out = drain(process.getInputStream());
        FutureTask<String> err = drain(process.getErrorStream());
        try {
            try (var stdin = process.getOutputStream()) {
                if (input != null) {
                    stdin.write(input.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(1, TimeUnit.SECONDS);
                return new ExecResult(command, -1, collect(out), collect(err) + "\ntimed out after " + timeout.toMillis() + " ms");
            }
            return new ExecResult(command, process.exitValue(), collect(out), collect(err));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + commandLine(command), e);
        }
    }

    public static ExecResult run(Duration timeout, String... command) {
        return run(timeout, List.of(command));
    }

    /** Runs and throws {@link CommandFailedException} unless the command exits 0. */
    public static ExecResult check(Duration timeout, List<String> command) {
        ExecResult result = run(timeout, command);
        if (!result.ok()) {
            throw new CommandFailedException(result, result.exitCode() == -1 ? "timed out" : "exit code " + result.exitCode());
        }
        return result;
    }

    public static ExecResult check(List<String> command) {
        return check(DEFAULT_TIMEOUT, command);
    }

    public static ExecResult check(String... command) {
        return check(DEFAULT_TIMEOUT, List.of(command));
    }

    /** The command as a shell would need it typed, for messages people copy and paste. */
    public static String commandLine(List<String> command) {
        return command.stream().map(word -> PLAIN_WORD.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'")
                .collect(Collectors.joining(" "));
    }

    private static FutureTask<String> drain(InputStream in) {
        FutureTask<String> task = new FutureTask<>(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        });
        Thread.ofVirtual().name("command-output").start(task);
        return task;
    }

    private static String collect(FutureTask<String> output) throws InterruptedException {
        try {
            return output.get(DRAIN.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return "(output unreadable: " + e.getCause().getMessage() + ")";
        } catch (TimeoutException e) {
            return "(output still open: a child process keeps it)";
        }
    }
}
