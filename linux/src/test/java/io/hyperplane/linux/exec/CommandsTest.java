package io.hyperplane.linux.exec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(10)
class CommandsTest {

    @Test
    void shouldNameTheCommandLineExitCodeAndStderrWhenACommandFails() {
        assertThatThrownBy(() -> Commands.check("sh", "-c", "echo 'it broke' >&2; exit 3"))
                .isInstanceOf(CommandFailedException.class)
                .hasMessageContaining("exit code 3")
                .hasMessageContaining("sh -c 'echo '\\''it broke'\\'' >&2; exit 3'")
                .hasMessageContaining("stderr: it broke");
    }

    @Test
    void shouldCaptureOutputOfASuccessfulCommand() {
        ExecResult result = Commands.check("sh", "-c", "echo out; echo err >&2");

        assertThat(result.exitCode()).isZero();
        assertThat(result.stdout()).isEqualTo("out\n");
        assertThat(result.stderr()).isEqualTo("err\n");
    }

    @Test
    void shouldStopACommandThatRunsPastItsTimeout() {
        long start = System.nanoTime();

        assertThatThrownBy(() -> Commands.check(Duration.ofMillis(300), List.of("sleep", "5")))
                .hasMessageContaining("timed out")
                .hasMessageContaining("sleep 5");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void shouldReportAProgramThatDoesNotExist() {
        ExecResult result = Commands.run(Duration.ofSeconds(1), "hp-no-such-program-xyz");

        assertThat(result.exitCode()).isEqualTo(127);
    }

    @Test
    void shouldFindIproute2() {
        Tools.require(Tool.IP);

        assertThat(Tools.isAvailable(Tool.IP)).isTrue();
    }
}
