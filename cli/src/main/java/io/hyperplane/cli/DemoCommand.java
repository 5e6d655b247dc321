package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.cloud.LocalCloud;
import io.hyperplane.linux.Directories;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Show the system working: a VPC with a PostgreSQL instance that admits only the functions' security group,",
                "a VPC function querying it, a burst of concurrent invocations through one shared ENI, then the same burst in",
                "the legacy (one ENI per environment) model, side by side; and the way out: the function reaches the simulated internet",
                "through a NAT gateway (the internet sees its Elastic IP), one without a VpcConfig through the service's egress.",
                "Uses a running 'hyperplane up' if there is one, else brings up its own and removes it afterwards. Cleans up",
                "everything it created."})
final class DemoCommand implements Callable<Integer> {
    static final String LOG_FILE = "demo.log";

    @Option(names = "--burst", defaultValue = "50", description = "Concurrent invocations per model (default: ${DEFAULT-VALUE}).")
    int burst;

    @Option(names = "--json", description = "End with one line of JSON: the results, for scripts.")
    boolean json;

    @Option(names = "--data-dir", defaultValue = UpCommand.DEFAULT_DATA_DIR, paramLabel = "DIR",
            description = "The running 'up' to use (its DIR/up.endpoint and DIR/credentials), else where the demo's own system keeps"
                    + " its state while it runs (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Mixin
    VerboseOption verbose;

    @Override
    public Integer call() throws Exception {
        // Beside the data directory, not in the embedded system's state: that is removed afterwards, the log is kept.
        return verbose.run(dataDir.resolveSibling(LOG_FILE), () -> demo(System.out));
    }

    private int demo(PrintStream out) throws Exception {
        URI running = runningUp();
        ObjectNode result;
        if (running != null) {
            out.println("using the running 'hyperplane up' at " + running);
            result = new Demo(running, Ec2QueryClient.credentialsFrom(dataDir.resolve("credentials")), dataDir, UpCommand.PREFIX, burst, out).run();
        } else {
            Path own = dataDir.resolveSibling("demo");
            out.println("no 'hyperplane up' is running: starting one for the demo (state in " + own + ", removed afterwards)");
            long t0 = System.nanoTime();
            // One node: the demo follows one invocation's path, and every node is a JVM more to start and stop.
            try (LocalCloud cloud = LocalCloud.start(UpCommand.settings(own, "127.0.0.1:0", "hp-demo-").withNodes(1), line -> out.println("  " + line))) {
                out.printf("  up in %.1f s at %s%n", (System.nanoTime() - t0) / 1e9, cloud.server().endpoint());
                result = new Demo(cloud.server().endpoint(), cloud.server().defaultCredential(), own, "hp-demo-", burst, out).run();
            } finally {
                Directories.deleteTree(own);
            }
        }
        JsonNode internet = result.path("internet");
        boolean ok = result.path("functionState").asText().equals("Active")
                && result.path("shared").path("invocationsFailed").asInt() == 0 && result.path("shared").path("enis").asInt() >= 1
                && internet.path("seenFromVpcFunction").asText().equals(internet.path("elasticIp").asText())
                && internet.path("seenFromNonVpcFunction").asText().equals(internet.path("serviceEgressAddress").asText());
        if (json) {
            out.println(result.toString());
        }
        return ok ? 0 : 1;
    }

    /** The endpoint of a running 'up' on the data directory, or null. */
    private URI runningUp() {
        Path marker = dataDir.resolve("up.endpoint");
        if (!Files.isRegularFile(marker) || !Files.isRegularFile(dataDir.resolve("credentials"))) {
            return null;
        }
        try {
            URI endpoint = URI.create(Files.readString(marker).trim());
            HttpResponse<Void> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()
                    .send(HttpRequest.newBuilder(endpoint).timeout(Duration.ofSeconds(3)).GET().build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() > 0 ? endpoint : null;
        } catch (Exception e) {
            return null; // a marker left by an 'up' that was killed
        }
    }
}
