package io.hyperplane.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.linux.Directories;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.linux.sandbox.Sandbox;
import io.hyperplane.linux.sandbox.SyscallFilter;
import io.hyperplane.metrics.LatencyRecorder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the sandbox adds to a cold start, like for like, in one run: the launch chain the worker
 * used before sandboxes ({@code ip netns exec NS nice -n 10 setpriv ... -- COMMAND}) against the
 * sandboxed one ({@link Sandbox}, from a thread in the namespace), each running {@code /bin/true}
 * until it has exited, interleaved so that both see the same machine. The runtime's own start is
 * the same either way and is left out.
 */
final class SandboxLaunchBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A user nobody else has (below the worker's leased range). */
    private static final int UID = 60_999;

    private SandboxLaunchBench() {
    }

    static ObjectNode run(String namespace, int rounds) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("hp-bench-sandbox");
        Path code = Files.createDirectory(dir.resolve("task"));
        Files.setPosixFilePermissions(code, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path filter = dir.resolve("seccomp.bpf");
        Namespaces.add(namespace);
        try {
            SyscallFilter.write(filter);
            Sandbox sandbox = new Sandbox("localhost", code, null, 512L * 1024 * 1024, UID, Map.of("PATH", "/usr/bin:/bin"), List.of("/bin/true"),
                    List.of(), null);
            sandbox.prepare(dir);
            List<String> sandboxed = sandbox.launchCommand("ulimit -n 1024 && ", List.of("nice", "-n", "10"), dir, filter);
            List<String> bare = new ArrayList<>(List.of("ip", "netns", "exec", namespace, "nice", "-n", "10", "setpriv", "--reuid=" + UID,
                    "--regid=" + UID, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", "/bin/true"));
            LatencyRecorder bareLaunch = new LatencyRecorder();
            LatencyRecorder sandboxedLaunch = new LatencyRecorder();
            for (int i = 0; i < rounds + 5; i++) {
                long b = time(bare, null);
                long s = time(sandboxed, namespace);
                if (i >= 5) { // the first few warm the page cache and the JIT of this code
                    bareLaunch.recordNanos(b);
                    sandboxedLaunch.recordNanos(s);
                }
            }
            ObjectNode out = JSON.createObjectNode();
            out.set("bareLaunchMs", RuntimeBench.percentiles(bareLaunch));
            out.set("sandboxedLaunchMs", RuntimeBench.percentiles(sandboxedLaunch));
            out.put("addedP50Ms", round(out.path("sandboxedLaunchMs").path("p50").asDouble() - out.path("bareLaunchMs").path("p50").asDouble()));
            out.put("addedP99Ms", round(out.path("sandboxedLaunchMs").path("p99").asDouble() - out.path("bareLaunchMs").path("p99").asDouble()));
            return out;
        } finally {
            Namespaces.delete(namespace);
            Directories.deleteTree(dir);
        }
    }

    /** Nanoseconds from spawning {@code command} until it has exited; from a thread in {@code namespace} when given. */
    private static long time(List<String> command, String namespace) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(Path.of("/").toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        long t0 = System.nanoTime();
        Process p = namespace == null ? pb.start() : NetworkNamespace.call(namespace, pb::start);
        int exit = p.waitFor();
        long nanos = System.nanoTime() - t0;
        if (exit != 0) {
            throw new IllegalStateException(String.join(" ", command.subList(0, Math.min(6, command.size()))) + "... exited with " + exit);
        }
        return nanos;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
