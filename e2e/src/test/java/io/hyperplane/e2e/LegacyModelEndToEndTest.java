package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.lambda.LegacyEnis;
import io.hyperplane.linux.netns.Namespaces;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.ec2.model.NetworkInterface;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.LambdaException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pre-2019 model, measured against the shared one: every new environment creates an ENI of
 * its own during its cold start, through EC2's rate limit (here a bucket of 20 refilled 5 per
 * second, so a burst of 50 waits for tokens), and takes a subnet address each; a /28 runs out
 * after its 11 usable addresses with SubnetIPAddressLimitReachedException.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(600)
class LegacyModelEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private RuntimeWorld w;

    @BeforeAll
    void start() throws Exception {
        w = new RuntimeWorld("hp-lg-", "lg", "legacy", s -> s.withLegacyEnis(new LegacyEnis.Settings(20, 5, Duration.ofMillis(500),
                Duration.ofSeconds(30))), Duration.ofSeconds(15));
        w.buildVpc("10.7.0.0/16", "10.7.1.0/24", "10.7.2.0/28");
    }

    @AfterAll
    void stop() {
        if (w != null) {
            w.close();
        }
        assertThat(Namespaces.list()).noneMatch(n -> n.startsWith("hp-lg-") || n.startsWith("hp-ee-lg-"));
    }

    private static boolean legacy(NetworkInterface eni) {
        return eni.description().contains("legacy");
    }

    @Test
    @Order(1)
    void shouldCreateOneEniAndOneAddressPerEnvironmentWithThrottlingVisible() throws Exception {
        w.createFunction("burst", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", FunctionRuntimeEndToEndTest.PYTHON_APP)),
                List.of(w.subnetA), 60, 128);
        String hold = "{\"action\":\"whoami\",\"target\":\"" + w.target() + "\",\"hold\":3}";
        Set<String> seen = new HashSet<>();
        for (CompletableFuture<InvokeResponse> call : w.burst("burst", hold, 50)) {
            InvokeResponse r = call.join();
            assertThat(r.functionError()).as(r.payload().asUtf8String()).isNull();
            seen.add(JSON.readTree(r.payload().asUtf8String()).path("seen").asText().split(":")[0]);
        }
        List<NetworkInterface> legacyEnis = w.ec2.describeNetworkInterfaces(b -> b.filters(f -> f.name("subnet-id").values(w.subnetA)))
                .networkInterfaces().stream().filter(LegacyModelEndToEndTest::legacy).toList();
        assertThat(legacyEnis).as("one ENI per environment").hasSize(50);
        assertThat(legacyEnis.stream().map(NetworkInterface::privateIpAddress).distinct()).as("one subnet address each").hasSize(50);
        assertThat(seen).as("the database saw 50 different addresses").hasSize(50);
        var metrics = w.workerMetrics();
        System.out.println("legacy worker metrics: " + metrics);
        assertThat(metrics.path("legacyEniCreationsThrottled").asInt()).as("a bucket of 20 for 50 creations").isGreaterThan(0);
        assertThat(w.server.legacyEnis().throttledCount()).isGreaterThan(0);
    }

    /** Idle environments are reaped, and in the legacy model their ENIs and addresses go with them. */
    @Test
    @Order(3)
    void shouldReapIdleEnvironmentsAndTheirEnis() throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(90)).until(() -> w.workerMetrics().path("environments").asInt() == 0);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> w.ec2.describeNetworkInterfaces().networkInterfaces().stream()
                .noneMatch(LegacyModelEndToEndTest::legacy));
    }

    @Test
    @Order(2)
    void shouldRunOutOfAddressesInASlash28() throws Exception {
        w.createFunction("small", "python3.12", "app.handler", RuntimeWorld.zip(Map.of("app.py", FunctionRuntimeEndToEndTest.PYTHON_APP)),
                List.of(w.subnetB), 60, 128);
        String hold = "{\"action\":\"whoami\",\"target\":\"" + w.target() + "\",\"hold\":3}";
        int ok = 0;
        List<String> errors = new ArrayList<>();
        for (CompletableFuture<InvokeResponse> call : w.burst("small", hold, 20)) {
            try {
                InvokeResponse r = call.join();
                assertThat(r.functionError()).isNull();
                ok++;
            } catch (CompletionException e) {
                LambdaException error = (LambdaException) e.getCause();
                assertThat(error.statusCode()).isEqualTo(502);
                errors.add(error.awsErrorDetails().errorCode());
            }
        }
        // 11 usable addresses, one of them the function's shared ENI (it exists in both models here).
        assertThat(ok).as("environments that got an address").isEqualTo(10);
        assertThat(errors).hasSize(10).containsOnly("SubnetIPAddressLimitReachedException");
    }
}
