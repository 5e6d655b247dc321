package io.hyperplane.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConsoleLogsTest {
    /** Loggers named as the frameworks' are: what 'up' and 'demo' used to bury their output under. */
    private static final Logger HIKARI = LoggerFactory.getLogger("com.zaxxer.hikari.HikariDataSource");
    private static final Logger PUBLISHER = LoggerFactory.getLogger("io.hyperplane.control.node.NodeConfigPublisher");

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream previousOut;
    private PrintStream previousErr;

    @TempDir
    Path dir;

    @BeforeEach
    void captureTheConsole() {
        previousOut = System.out;
        previousErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreTheConsole() {
        System.setOut(previousOut);
        System.setErr(previousErr);
    }

    private String console() {
        return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldSendFrameworkLogsToTheFileAndKeepTheCommandsOwnProgressOnStdout() throws Exception {
        Path file = dir.resolve("up.log");
        try (ConsoleLogs logs = ConsoleLogs.start(file, false)) {
            logs.nameIn(System.out);
            HIKARI.info("HikariPool-1 - Start completed.");
            PUBLISHER.info("node config version 3 published");
            System.out.println("  starting worker w");
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("logs: " + file + " (--verbose shows them here)\n  starting worker w\n");
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(Files.readString(file)).contains("HikariDataSource - HikariPool-1 - Start completed.")
                .contains("node config version 3 published").doesNotContain("starting worker");
    }

    @Test
    void shouldShowFrameworkLogsOnTheConsoleWhenVerboseAndNameNoFile() throws Exception {
        Path file = dir.resolve("up.log");
        try (ConsoleLogs logs = ConsoleLogs.start(file, true)) {
            logs.nameIn(System.out);
            HIKARI.info("HikariPool-1 - Start completed.");
            assertThat(logs.file()).isNull();
        }
        assertThat(console()).contains("HikariDataSource - HikariPool-1 - Start completed.").doesNotContain("logs:");
        assertThat(file).doesNotExist();
    }

    @Test
    void shouldPutTheConsoleBackWhenClosed() throws Exception {
        Path file = dir.resolve("demo.log");
        ConsoleLogs.start(file, false).close();
        PUBLISHER.info("node config version 4 published");
        assertThat(console()).contains("node config version 4 published");
        assertThat(Files.readString(file)).doesNotContain("version 4");
    }

    @Test
    void shouldNameTheLogFileInAFailureKeepItsStackTraceThereAndPutTheConsoleBack() throws Exception {
        Path file = dir.resolve("demo.log");
        VerboseOption quiet = new VerboseOption();
        assertThatThrownBy(() -> quiet.run(file, () -> {
            throw new IllegalStateException("worker d did not register within 30 s");
        })).hasMessage("worker d did not register within 30 s (what led to it is in " + file + ")");
        assertThat(Files.readString(file)).contains("java.lang.IllegalStateException: worker d did not register within 30 s")
                .contains("\tat ");
        PUBLISHER.info("node config version 5 published");
        assertThat(console()).contains("node config version 5 published");
    }

    @Test
    void shouldLeaveAFailureAsItIsWhenVerbose() {
        VerboseOption verbose = new VerboseOption();
        verbose.verbose = true;
        IllegalStateException failure = new IllegalStateException("worker d did not register within 30 s");
        assertThatThrownBy(() -> verbose.run(dir.resolve("demo.log"), () -> {
            throw failure;
        })).isSameAs(failure);
    }

    @Test
    void shouldOfferVerboseOnUpDemoAndEveryBench() {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs("--verbose");
        assertThat(up.verbose.verbose).isTrue();
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs();
        assertThat(demo.verbose.verbose).as("quiet by default").isFalse();
        new CommandLine(demo).parseArgs("--verbose");
        assertThat(demo.verbose.verbose).isTrue();
        for (Object bench : new Object[]{new BenchCommand.Forwarder(), new BenchCommand.Api(), new BenchCommand.Snapshot(), new BenchCommand.RuntimeCommand()}) {
            CommandLine.ParseResult parsed = new CommandLine(bench).parseArgs("--verbose");
            assertThat(parsed.hasMatchedOption("--verbose")).as(bench.getClass().getSimpleName()).isTrue();
        }
    }
}
