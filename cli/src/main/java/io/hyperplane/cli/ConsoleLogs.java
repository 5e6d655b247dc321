package io.hyperplane.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where the logs of the frameworks and components go while a command that tells its own story
 * ({@code up}, {@code demo}, {@code bench}) runs. Quiet (the default): every logger that reaches
 * the root (Hikari, Flyway, Jetty, the publisher, ...) writes to one file and the console carries
 * only what the command prints itself. Verbose: the console appenders of logback.xml stay, as
 * for the daemons ({@code server}, {@code node}, {@code worker}).
 *
 * <p>Chosen at start by swapping the root logger's appenders, not by filtering lines: a logger
 * added later is routed the same way. {@link #close()} puts the console back, for a command run
 * inside a longer-lived JVM (the tests).
 */
final class ConsoleLogs implements AutoCloseable {
    /** As logback.xml's console, with the date and thread: the file outlives the day and holds many threads. */
    static final String FILE_PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{0} - %msg%n";

    private final Logger root;
    private final List<Appender<ILoggingEvent>> consoles;
    private final FileAppender<ILoggingEvent> file;

    private ConsoleLogs(Logger root, List<Appender<ILoggingEvent>> consoles, FileAppender<ILoggingEvent> file) {
        this.root = root;
        this.consoles = consoles;
        this.file = file;
    }

    /** Verbose: the console as configured. Quiet: the root's console appenders replaced by {@code file} (appended to). */
    static ConsoleLogs start(Path file, boolean verbose) {
        Objects.requireNonNull(file, "file");
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        if (verbose) {
            return new ConsoleLogs(root, List.of(), null);
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(FILE_PATTERN);
        encoder.start();
        FileAppender<ILoggingEvent> appender = new FileAppender<>();
        appender.setContext(context);
        appender.setName("hyperplane-file");
        appender.setFile(file.toString());
        appender.setAppend(true);
        appender.setEncoder(encoder);
        appender.start();
        if (!appender.isStarted()) {
            throw new IllegalStateException("cannot write the log file " + file + ": check that its directory is writable, or run with --verbose");
        }
        List<Appender<ILoggingEvent>> consoles = new ArrayList<>();
        root.iteratorForAppenders().forEachRemaining(a -> {
            if (a instanceof ConsoleAppender) {
                consoles.add(a);
            }
        });
        root.addAppender(appender);
        consoles.forEach(root::detachAppender);
        return new ConsoleLogs(root, consoles, appender);
    }

    /** The file the logs go to; null when they are on the console. */
    Path file() {
        return file == null ? null : Path.of(file.getFile());
    }

    /** Names the file, once, in the command's output: where to look when something goes wrong. Nothing when verbose. */
    void nameIn(PrintStream out) {
        if (file != null) {
            out.println("logs: " + file() + " (--verbose shows them here)");
        }
    }

    /**
     * A failure as the user should see it: its message, and where the logs that led to it are (the
     * file also gets its stack trace). Unchanged when the logs are on the console already.
     */
    Exception withDetails(Exception failure) {
        if (file == null) {
            return failure;
        }
        LoggerFactory.getLogger(ConsoleLogs.class).error("failed", failure);
        return new Exception(failure.getMessage() + " (what led to it is in " + file() + ")", failure);
    }

    @Override
    public void close() {
        if (file == null) {
            return;
        }
        consoles.forEach(root::addAppender);
        root.detachAppender(file);
        file.stop();
    }
}
