package io.hyperplane.worker;

import io.hyperplane.linux.sandbox.Sandbox;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A runtime's output as the worker keeps it: over an in-memory pipe whose reading side the test holds back, and
 * over a real process's pipe opened through /proc as the worker opens it.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessLogTest {
    private static final String READY = Sandbox.READY_LINE;

    /** A pipe in memory: writes are chunks in order; reads wait for the test to open the gate; an empty chunk is the end. */
    private static final class Pipe {
        final LinkedBlockingDeque<byte[]> chunks = new LinkedBlockingDeque<>();
        final CountDownLatch gate = new CountDownLatch(1);

        final InputStream in = new InputStream() {
            @Override
            public int read() {
                throw new UnsupportedOperationException("read in chunks");
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    gate.await();
                    byte[] chunk = chunks.takeFirst();
                    if (chunk.length == 0) {
                        chunks.addFirst(chunk);
                        return -1;
                    }
                    int n = Math.min(len, chunk.length);
                    System.arraycopy(chunk, 0, b, off, n);
                    if (n < chunk.length) {
                        byte[] rest = new byte[chunk.length - n];
                        System.arraycopy(chunk, n, rest, 0, rest.length);
                        chunks.addFirst(rest);
                    }
                    return n;
                } catch (InterruptedException e) {
                    throw new IOException("interrupted", e);
                }
            }
        };

        final OutputStream out = new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                byte[] chunk = new byte[len];
                System.arraycopy(b, off, chunk, 0, len);
                chunks.addLast(chunk);
            }
        };

        void write(String text) {
            chunks.addLast(text.getBytes(StandardCharsets.UTF_8));
        }

        void end() {
            chunks.addLast(new byte[0]);
        }

        void open() {
            gate.countDown();
        }
    }

    private final Pipe pipe = new Pipe();
    private Process process;

    @AfterEach
    void stop() {
        pipe.open();
        if (process != null) {
            process.destroyForcibly();
        }
    }

    @Test
    void shouldCatchUpWithWhatWasWrittenBeforeEvenWhenTheReaderIsBehind() throws Exception {
        ProcessLog log = new ProcessLog(pipe.in, pipe.out, READY).start("hp-log-test");
        pipe.write(READY + "\ninit\n");
        pipe.write("during the invocation\n");

        CompletableFuture<String> caughtUp = CompletableFuture.supplyAsync(() -> {
            try {
                return log.catchUpAndDrain();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        pipe.open(); // the reader had read nothing when the catch-up began

        assertThat(caughtUp.get(10, TimeUnit.SECONDS)).isEqualTo("init\nduring the invocation\n");
        assertThat(log.sandboxReadyNanos()).isPositive();
    }

    @Test
    void shouldTakeOffTheReadyLineEvenWhenItArrivesInPieces() throws Exception {
        ProcessLog log = new ProcessLog(pipe.in, pipe.out, READY).start("hp-log-test");
        pipe.open();
        pipe.write(READY.substring(0, 5));
        pipe.write(READY.substring(5) + "\nhello");

        assertThat(log.catchUpAndDrain()).as("a newline ends what is drained").isEqualTo("hello\n");
        assertThat(log.sandboxReadyNanos()).isPositive();
    }

    @Test
    void shouldKeepOutputThatDoesNotStartWithTheReadyLine() throws Exception {
        ProcessLog log = new ProcessLog(pipe.in, pipe.out, READY).start("hp-log-test");
        pipe.open();
        pipe.write("bwrap: Can't mount proc\n");

        assertThat(log.catchUpAndDrain()).isEqualTo("bwrap: Can't mount proc\n");
        assertThat(log.sandboxReadyNanos()).isEqualTo(-1);
    }

    @Test
    void shouldLeaveAFunctionsLookAlikeOfTheMarkerInItsLog() throws Exception {
        ProcessLog log = new ProcessLog(pipe.in, pipe.out, READY).start("hp-log-test");
        pipe.open();
        String forged = "\u0000hp-log-caught-up 00000000-0000-0000-0000-000000000000\u0000\n";
        pipe.write(READY + "\n" + forged);

        assertThat(log.catchUpAndDrain()).isEqualTo(forged);
    }

    @Test
    void shouldKeepTheNewestHalfOfTheLimitWhenTheOutputOutgrowsIt() throws Exception {
        ProcessLog log = new ProcessLog(pipe.in, pipe.out, READY).start("hp-log-test");
        pipe.open();
        String output = "x".repeat(ProcessLog.LIMIT) + "y";
        pipe.write(output);

        String kept = log.catchUpAndDrain();

        assertThat(kept).hasSize(ProcessLog.LIMIT / 2 + 1).endsWith("y\n");
    }

    @Test
    void shouldCatchUpWithoutAWriteEndOfItsOwnWhileTheProcessLives() throws Exception {
        ProcessLog log = new ProcessLog(pipe.in, null, READY).start("hp-log-test");
        pipe.write("last words\n"); // the pipe stays open: a live process whose write end could not be opened
        pipe.open();

        StringBuilder caughtUp = new StringBuilder();
        await().atMost(Duration.ofSeconds(10)).until(() -> caughtUp.append(log.catchUpAndDrain()).toString().equals("last words\n"));
        pipe.end();
        await().atMost(Duration.ofSeconds(10)).until(() -> log.catchUpAndDrain().isEmpty() && log.drain().isEmpty());
    }

    @Test
    void shouldCatchUpWithAProcessThatHasExitedThroughTheWriteEndOpenedWhileItRan() throws Exception {
        process = new ProcessBuilder("sh", "-c", "read go; echo " + READY + "; echo \"exiting with $go\"; exit 3").redirectErrorStream(true).start();
        ProcessLog log = new ProcessLog(process.getInputStream(), ProcessLog.openPipeOf(process), READY).start("hp-log-test");
        try (OutputStream stdin = process.getOutputStream()) {
            stdin.write("status\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(process.waitFor()).isEqualTo(3);

        assertThat(log.catchUpAndDrain()).isEqualTo("exiting with status\n");

        log.close();
        assertThat(log.catchUpAndDrain()).as("the write end closed: the output ends").isEmpty();
    }
}
