package io.hyperplane.node;

import io.hyperplane.linux.netns.NetworkNamespace;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of a node test's own, its loopback up and carrying the test's addresses:
 * a node's port group and the test's stand-in VTEPs stay apart from anything else on the machine.
 * It is made fresh (one a killed run left behind is deleted first) and deleted by its exact name
 * on {@link #close()}.
 */
final class TestNamespace implements AutoCloseable {
    private final String name;

    private TestNamespace(String name) {
        this.name = name;
    }

    /** Makes namespace {@code name} with {@code loopbackAddresses} (each a /32) on its loopback. */
    static TestNamespace create(String name, String... loopbackAddresses) throws IOException, InterruptedException {
        deleteIfPresent(name);
        run("ip", "netns", "add", name);
        TestNamespace namespace = new TestNamespace(name);
        try {
            run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
            for (String ip : loopbackAddresses) {
                run("ip", "netns", "exec", name, "ip", "addr", "add", ip + "/32", "dev", "lo");
            }
            return namespace;
        } catch (IOException | InterruptedException | RuntimeException e) {
            namespace.close();
            throw e;
        }
    }

    String name() {
        return name;
    }

    /** A UDP socket bound to {@code ip:port} inside the namespace. */
    DatagramSocket socket(String ip, int port) throws IOException {
        return NetworkNamespace.call(name, () -> new DatagramSocket(new InetSocketAddress(ip, port)));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        deleteIfPresent(name);
    }

    static void deleteIfPresent(String name) throws IOException, InterruptedException {
        if (Files.exists(Path.of("/run/netns", name))) {
            run("ip", "netns", "delete", name);
        }
    }

    /** Runs a command to its end (20 s at most); its output, or an IOException that shows it. */
    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }
}
