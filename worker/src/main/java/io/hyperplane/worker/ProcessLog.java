package io.hyperplane.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A runtime's output (its standard output and error, one pipe), read on a thread of its own and kept
 * until the worker drains it into an invocation's log: at most {@link #LIMIT} characters, the oldest
 * dropped first. Read in chunks, not lines: a runtime's logger may write without a newline (Java's
 * LambdaLogger.log). The sandbox's ready line, when the output starts with it, is taken off and its
 * arrival noted ({@link #sandboxReadyNanos}).
 *
 * <h2>Catching up</h2>
 * What a function writes before it answers is in the pipe when its answer arrives, but the reader
 * may not have read it yet. {@link #catchUpAndDrain} waits until it has: it writes a marker of its own
 * into the same pipe (through {@code pipe}, a write end the worker opened when the process started)
 * and waits until the reader has read it; the pipe keeps order, so everything written before is read
 * by then. The marker carries a random nonce, so a function cannot forge it, and is taken out of the
 * text. Without a write end (the process was gone, or its pipe could not be opened through /proc, as
 * happens to sandboxed runtimes) it waits {@link #UNMARKED_GRACE} for a reader that is behind, as the
 * worker always did before markers.
 */
final class ProcessLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessLog.class);
    /** Output kept between drains: the REPORT's log tail is 4 KB, and a runtime's init may print a good deal before it. */
    static final int LIMIT = 256 * 1024;
    /**
     * How long a catch-up waits for its marker: far longer than a reader takes to empty a full pipe (64 KiB), so
     * reached only by a reader starved of CPU; the log is then drained as it is.
     */
    static final Duration CATCH_UP_LIMIT = Duration.ofSeconds(1);
    /**
     * How long a catch-up without a write end waits for more output: a reader that is behind takes well under a
     * millisecond for a 4 KB tail; a sandboxed process's output pipe often cannot be opened through /proc.
     */
    static final Duration UNMARKED_GRACE = Duration.ofMillis(5);
    private static final int CHUNK = 8192;
    private static final String MARKER_START = "\u0000hp-log-caught-up ";

    private final InputStream output;
    private final OutputStream pipe;
    private final String readyLine;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // Guarded by lock.
    private final StringBuilder text = new StringBuilder();
    private final List<String> markersUnread = new ArrayList<>();
    private boolean ended;
    /** When the ready line arrived; 0 until then, -1 if the output began with something else. */
    private volatile long sandboxReadyNanos;

    /**
     * @param output    the process's output
     * @param pipe      a write end of the same pipe, or null when there is none; closed with this log
     * @param readyLine the line the sandbox prints first (without its newline)
     */
    ProcessLog(InputStream output, OutputStream pipe, String readyLine) {
        this.output = output;
        this.pipe = pipe;
        this.readyLine = readyLine + "\n";
    }

    /**
     * A write end of {@code process}'s output pipe, opened through {@code /proc/PID/fd/1} while the
     * process runs (its standard output is the pipe); null if the process is already gone.
     */
    static OutputStream openPipeOf(Process process) {
        try {
            return Files.newOutputStream(Path.of("/proc", Long.toString(process.pid()), "fd", "1"), StandardOpenOption.WRITE);
        } catch (IOException e) {
            LOG.debug("output pipe of process {}: {}", process.pid(), e.getMessage());
            return null;
        }
    }

    /** Starts reading, on a daemon thread named {@code threadName}. */
    ProcessLog start(String threadName) {
        Thread.ofPlatform().daemon().name(threadName).start(this::read);
        return this;
    }

    private void read() {
        try (InputStreamReader reader = new InputStreamReader(output, StandardCharsets.UTF_8)) {
            char[] chunk = new char[CHUNK];
            int n;
            while ((n = reader.read(chunk)) > 0) {
                long now = System.nanoTime();
                lock.lock();
                try {
                    int before = text.length();
                    text.append(chunk, 0, n);
                    if (sandboxReadyNanos == 0) {
                        sandboxReady(now);
                    }
                    if (!markersUnread.isEmpty()) {
                        takeOutMarkers(before);
                    }
                    if (text.length() > LIMIT) {
                        text.delete(0, text.length() - LIMIT / 2);
                    }
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            LOG.debug("output ended: {}", e.getMessage());
        } finally {
            lock.lock();
            try {
                ended = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Takes the sandbox's ready line off the start of the output, noting when it came. Call with the lock held. */
    private void sandboxReady(long now) {
        if (text.length() >= readyLine.length() && text.substring(0, readyLine.length()).equals(readyLine)) {
            text.delete(0, readyLine.length());
            sandboxReadyNanos = now;
        } else if (text.length() >= readyLine.length() || !readyLine.startsWith(text.toString())) {
            sandboxReadyNanos = -1; // bubblewrap's own error, say: the log keeps it
        }
    }

    /** Takes out every awaited marker the text now holds (one may end in what was just appended). Call with the lock held. */
    private void takeOutMarkers(int appendedAt) {
        boolean found = false;
        for (var unread = markersUnread.iterator(); unread.hasNext(); ) {
            String marker = unread.next();
            int at = text.indexOf(marker, Math.max(0, appendedAt - marker.length() + 1));
            if (at >= 0) {
                text.delete(at, at + marker.length());
                unread.remove();
                found = true;
            }
        }
        if (found) {
            changed.signalAll();
        }
    }

    /** When the sandbox's ready line arrived ({@link System#nanoTime}); 0 before, -1 if the output began with something else. */
    long sandboxReadyNanos() {
        return sandboxReadyNanos;
    }

    /** Text read since the last drain, ending with a newline when there is any; no waiting. */
    String drain() {
        lock.lock();
        try {
            return drainLocked();
        } finally {
            lock.unlock();
        }
    }

    private String drainLocked() {
        String drained = text.toString();
        text.setLength(0);
        return drained.isEmpty() || drained.endsWith("\n") ? drained : drained + "\n";
    }

    /** As {@link #drain}, once everything written to the pipe before this call has been read (see the class comment). */
    String catchUpAndDrain() throws InterruptedException {
        String marker = null;
        if (pipe != null) {
            marker = MARKER_START + UUID.randomUUID() + "\u0000";
            lock.lock();
            try {
                if (ended) {
                    return drainLocked();
                }
                markersUnread.add(marker);
            } finally {
                lock.unlock();
            }
            // Outside the lock: with the pipe full, this write waits for the reader, which takes the lock.
            try {
                pipe.write(marker.getBytes(StandardCharsets.UTF_8));
                pipe.flush();
            } catch (IOException e) {
                LOG.debug("catching up with the output: {}", e.getMessage()); // no reader left: it ends with what it has read
                lock.lock();
                try {
                    markersUnread.remove(marker);
                } finally {
                    lock.unlock();
                }
                marker = null;
            }
        }
        // Without a write end nothing marks where the answer's output stops: a short grace lets a reader that is
        // behind catch up, as long as the process lives (waiting for the end of its output would hold every invocation).
        long nanos = marker == null ? UNMARKED_GRACE.toNanos() : CATCH_UP_LIMIT.toNanos();
        lock.lock();
        try {
            while (!ended && (marker == null || markersUnread.contains(marker)) && nanos > 0) {
                nanos = changed.awaitNanos(nanos);
            }
            if (marker != null && nanos <= 0) {
                LOG.debug("the output was not caught up with in {} ms", CATCH_UP_LIMIT.toMillis());
            }
            return drainLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Closes the worker's write end, so that the reader ends once the process's own ends are closed too. */
    @Override
    public void close() {
        if (pipe != null) {
            try {
                pipe.close();
            } catch (IOException e) {
                LOG.debug("closing the output pipe: {}", e.getMessage());
            }
        }
    }
}
