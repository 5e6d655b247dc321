package io.hyperplane.e2e;

import io.hyperplane.cli.Main;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.sigv4.Credential;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Subnet;
import software.amazon.awssdk.services.ec2.model.Vpc;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A server killed with SIGKILL while it writes loses nothing it acknowledged and keeps nothing
 * half made: killed three times at random moments during a stream of CreateVpc/CreateSubnet calls,
 * then restarted on the same data directory. Also what else only a real {@code hyperplane server}
 * process shows: its state is private, and the quotas on its command line hold.
 */
class ServerCrashTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void shouldCreateItsStatePrivate() throws Exception {
        Path data = dir.resolve("private").resolve("data"); // neither exists: the server makes both
        Server server = Server.start(data);
        try (Ec2Client ec2 = server.client()) {
            ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16"));
        } finally {
            server.kill();
        }
        assertThat(Files.list(data).map(p -> p.getFileName().toString()).toList()).as("the store, keys and token were written")
                .contains("credentials", "node-token").anyMatch(name -> name.endsWith(".mv.db"));
        assertThat(PrivateState.exposed(dir.resolve("private"))).as("directories 0700, files 0600").isEmpty();
    }

    @Test
    @Timeout(240)
    void shouldLoseNothingAcknowledgedWhenKilledWithSigkillMidWrite() throws Exception {
        SplittableRandom random = new SplittableRandom(20261123L);
        Map<String, String> acknowledgedSubnets = new ConcurrentHashMap<>(); // subnet -> vpc
        Set<String> acknowledgedVpcs = ConcurrentHashMap.newKeySet();
        for (int round = 0; round < 3; round++) {
            Server server = Server.start(dir, "--vpc-quota", "100000"); // the writer makes a VPC per step, past AWS's 5
            try (Ec2Client ec2 = server.client()) {
                long killAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500 + random.nextInt(1500));
                Thread writer = Thread.ofPlatform().start(() -> {
                    int n = 0;
                    try {
                        while (true) {
                            Vpc vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc();
                            acknowledgedVpcs.add(vpc.vpcId());
                            int third = n++ % 200;
                            Subnet subnet = ec2.createSubnet(b -> b.vpcId(vpc.vpcId()).cidrBlock("10.0." + third + ".0/24")).subnet();
                            acknowledgedSubnets.put(subnet.subnetId(), vpc.vpcId());
                        }
                    } catch (RuntimeException stoppedByTheKill) {
                        // the server died mid-call: that call was never acknowledged
                    }
                });
                while (System.nanoTime() < killAt) {
                    Thread.sleep(10);
                }
                server.kill();
                writer.join(30_000);
            }
        }
        assertThat(acknowledgedVpcs).as("the writer got work done between kills").isNotEmpty();

        Server server = Server.start(dir, "--vpc-quota", "100000");
        try (Ec2Client ec2 = server.client()) {
            Set<String> vpcs = ec2.describeVpcs().vpcs().stream().map(Vpc::vpcId).collect(Collectors.toSet());
            List<Subnet> subnets = ec2.describeSubnets().subnets();
            assertThat(vpcs).containsAll(acknowledgedVpcs);
            assertThat(subnets.stream().map(Subnet::subnetId).toList()).containsAll(acknowledgedSubnets.keySet());
            for (Subnet subnet : subnets) {
                assertThat(vpcs).as("every subnet's VPC exists").contains(subnet.vpcId());
            }
            assertThat(vpcs.size() - acknowledgedVpcs.size()).as("at most one unacknowledged create per kill").isLessThanOrEqualTo(3);
        } finally {
            server.kill();
        }
    }

    @Test
    @Timeout(120)
    void shouldHonourTheQuotasGivenOnItsCommandLine() throws Exception {
        Server server = Server.start(dir, "--vpc-quota", "1", "--subnet-quota", "1");
        try (Ec2Client ec2 = server.client()) {
            String vpc = ec2.createVpc(b -> b.cidrBlock("10.0.0.0/16")).vpc().vpcId();
            Ec2Exception refused = catchThrowableOfType(Ec2Exception.class, () -> ec2.createVpc(b -> b.cidrBlock("10.1.0.0/16")));
            assertThat(refused.awsErrorDetails().errorCode()).isEqualTo("VpcLimitExceeded");
            assertThat(refused.statusCode()).isEqualTo(400);
            ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.1.0/24"));
            assertThat(catchThrowableOfType(Ec2Exception.class, () -> ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock("10.0.2.0/24")))
                    .awsErrorDetails().errorCode()).isEqualTo("SubnetLimitExceeded");
            assertThat(ec2.describeVpcs().vpcs()).hasSize(1);
        } finally {
            server.kill();
        }
    }

    /** A {@code hyperplane server} process on a free loopback port, with more options if given. */
    private record Server(Process process, URI endpoint, String keyId, String secret) {
        static Server start(Path dataDir, String... options) throws IOException {
            int port;
            try (ServerSocket probe = new ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            String java = ProcessHandle.current().info().command().orElseThrow();
            List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "server", "--data-dir", dataDir.toString(), "--listen", "127.0.0.1:" + port, "--fabric", "none"));
            command.addAll(List.of(options));
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.contains("hyperplane server ready")) {
                seen.append(line).append('\n');
            }
            if (line == null) {
                throw new IllegalStateException("server exited before it was ready:\n" + seen);
            }
            Thread.ofVirtual().start(() -> out.lines().forEach(l -> { })); // keep draining its output
            Credential key = Ec2QueryClient.credentialsFrom(dataDir.resolve("credentials"));
            return new Server(process, URI.create("http://127.0.0.1:" + port), key.accessKeyId(), key.secretAccessKey());
        }

        Ec2Client client() {
            return Ec2Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1)
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(keyId, secret)))
                    .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
                    .httpClient(UrlConnectionHttpClient.create()).build();
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL on Linux
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
