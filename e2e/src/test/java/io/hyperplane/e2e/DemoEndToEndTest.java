package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.cli.Main;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 6's demo, run as a user runs it (no 'up' running: it brings up its own): PostgreSQL in a
 * private subnet, a burst of VPC functions reaching it through one shared ENI, then the legacy
 * model with one ENI per environment; the way out (issue 16): the function reaches the simulated
 * internet through a NAT gateway, which sees its Elastic IP, and one without a VpcConfig arrives
 * from the service's egress address; nothing is left behind. Its output is its own: the frameworks'
 * logs are in the file it names.
 */
@Timeout(600)
class DemoEndToEndTest {
    @Test
    void shouldShowOneSharedEniAgainstOnePerEnvironmentAndLeaveNothingBehind(@TempDir Path root) throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream previousOut = System.out;
        PrintStream previousErr = System.err;
        int code;
        // Both streams: what the user's terminal shows.
        try (PrintStream tee = new PrintStream(new OutputStream() {
            @Override
            public synchronized void write(int b) {
                captured.write(b);
                previousOut.write(b);
            }
        }, true, StandardCharsets.UTF_8)) {
            System.setOut(tee);
            System.setErr(tee);
            code = new CommandLine(new Main()).execute("demo", "--burst", "12", "--json", "--data-dir", root.resolve("up").toString());
        } finally {
            System.setOut(previousOut);
            System.setErr(previousErr);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        Path log = root.resolve("demo.log");
        assertThat(output).as("the demo's own story only").doesNotContain("HikariDataSource").doesNotContain("Flyway")
                .doesNotContain("node config version").contains("logs: " + log);
        assertThat(log).content().as("the frameworks' and components' logs").contains("HikariDataSource").contains("node config version");
        String last = output.strip().lines().reduce((a, b) -> b).orElseThrow();
        JsonNode r = new ObjectMapper().readTree(last);
        assertThat(code).as(output).isZero();
        assertThat(r.path("functionState").asText()).isEqualTo("Active");
        assertThat(r.path("pendingToActiveMs").asLong()).isPositive();
        JsonNode shared = r.path("shared");
        assertThat(shared.path("invocationsOk").asInt()).isEqualTo(12);
        assertThat(shared.path("enis").asInt()).as("one shared ENI").isEqualTo(1);
        assertThat(shared.path("subnetIpsUsed").asInt()).isEqualTo(1);
        assertThat(shared.path("clientAddressesSeenByDatabase")).as("PostgreSQL saw only the ENI").hasSize(1);
        assertThat(shared.path("executionEnvironments").asInt()).isGreaterThan(1);
        JsonNode legacy = r.path("legacy");
        assertThat(legacy.path("invocationsOk").asInt()).isEqualTo(12);
        assertThat(legacy.path("enis").asInt()).as("one ENI per environment").isEqualTo(legacy.path("executionEnvironments").asInt());
        assertThat(legacy.path("clientAddressesSeenByDatabase").size()).isEqualTo(legacy.path("executionEnvironments").asInt());
        JsonNode internet = r.path("internet");
        assertThat(internet.path("natGateway").asText()).startsWith("nat-");
        assertThat(internet.path("elasticIp").asText()).as("an Elastic IP").startsWith("198.51.100.");
        assertThat(internet.path("seenFromVpcFunction").asText()).as("the internet saw the NAT gateway's Elastic IP")
                .isEqualTo(internet.path("elasticIp").asText());
        assertThat(internet.path("seenFromNonVpcFunction").asText()).as("and the service's egress address from a function without a VpcConfig")
                .isEqualTo(Internet.SERVICE_EGRESS_ADDRESS);
        assertThat(output).contains("| EEs started |").contains("| ENIs |").contains("The way out: the internet saw " + internet.path("elasticIp").asText());
        assertThat(Namespaces.list()).as("nothing left").noneMatch(n -> n.startsWith("hp-demo-") || n.startsWith("hp-ee-d-") || n.startsWith("hp-ee-dl-"));
        assertThat(root.resolve("demo")).as("the embedded system's state is removed").doesNotExist();
    }
}
