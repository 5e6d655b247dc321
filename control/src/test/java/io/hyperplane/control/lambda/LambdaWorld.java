package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import io.hyperplane.control.iam.ManagedPolicies;
import io.hyperplane.control.server.ControlPlaneServer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.DefaultRetryStrategy;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.NetworkInterface;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.CreateFunctionRequest;
import software.amazon.awssdk.services.lambda.model.CreateFunctionResponse;
import software.amazon.awssdk.services.lambda.model.GetFunctionConfigurationResponse;
import software.amazon.awssdk.services.lambda.model.Runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.StreamSupport;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** A control plane with AWS SDK clients for EC2, IAM and Lambda, and helpers to build a VPC world. */
final class LambdaWorld implements AutoCloseable {
    static final String TRUST = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}""";
    static final byte[] ZIP = zip("bootstrap", "#!/bin/sh\necho hello\n");
    private static final ObjectMapper JSON = new ObjectMapper();

    final ControlPlaneServer server;
    final Ec2Client ec2;
    final IamClient iam;
    final LambdaClient lambda;
    private final HttpClient http = HttpClient.newHttpClient();

    private final Credential credential;
    private final boolean ownsServer;

    LambdaWorld(ControlPlaneServer server) {
        this(server, server.defaultCredential(), true);
    }

    /** Another account's view of the same server; closing it leaves the server running. */
    LambdaWorld(ControlPlaneServer server, Credential c) {
        this(server, c, false);
    }

    private LambdaWorld(ControlPlaneServer server, Credential c, boolean ownsServer) {
        this.server = server;
        this.credential = c;
        this.ownsServer = ownsServer;
        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey()));
        ec2 = Ec2Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
        iam = IamClient.builder().endpointOverride(server.endpoint()).region(Region.AWS_GLOBAL).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
        // No retries: a test sees each response as sent (the SDK would retry a 502 ResourceNotReadyException).
        lambda = LambdaClient.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1).credentialsProvider(credentials)
                .overrideConfiguration(o -> o.retryStrategy(RetryStrategy.class.cast(
                        DefaultRetryStrategy.doNotRetry())))
                .httpClient(UrlConnectionHttpClient.create()).build();
    }

    static byte[] zip(String name, String content) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry(name));
            zip.write(content.getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    String account() {
        return credential.accountId();
    }

    String vpc(String cidr) {
        return ec2.createVpc(b -> b.cidrBlock(cidr)).vpc().vpcId();
    }

    String subnet(String vpc, String cidr) {
        return ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock(cidr)).subnet().subnetId();
    }

    String group(String vpc, String name) {
        return ec2.createSecurityGroup(b -> b.vpcId(vpc).groupName(name).description(name)).groupId();
    }

    /** A role Lambda can assume, with the given managed policies attached. */
    String role(String name, String... policies) {
        String arn = iam.createRole(b -> b.roleName(name).assumeRolePolicyDocument(TRUST)).role().arn();
        for (String policy : policies) {
            iam.attachRolePolicy(b -> b.roleName(name).policyArn(policy));
        }
        return arn;
    }

    String vpcRole(String name) {
        return role(name, ManagedPolicies.VPC_ACCESS_EXECUTION);
    }

    CreateFunctionResponse create(String name, String role, List<String> subnets, List<String> groups) {
        return create(name, role, subnets, groups, b -> { });
    }

    CreateFunctionResponse create(String name, String role, List<String> subnets, List<String> groups, Consumer<CreateFunctionRequest.Builder> more) {
        return lambda.createFunction(b -> {
            b.functionName(name).role(role).runtime(Runtime.PROVIDED_AL2023).handler("bootstrap")
                    .code(c -> c.zipFile(SdkBytes.fromByteArray(ZIP)));
            if (subnets != null) {
                b.vpcConfig(v -> v.subnetIds(subnets).securityGroupIds(groups));
            }
            more.accept(b);
        });
    }

    GetFunctionConfigurationResponse configuration(String name) {
        return lambda.getFunctionConfiguration(b -> b.functionName(name));
    }

    List<NetworkInterface> enis() {
        return ec2.describeNetworkInterfaces().networkInterfaces();
    }

    /** GET /hyperplane/v1/enis, signed as this account (what `hyperplane enis` shows). */
    JsonNode enisView() {
        Credential c = credential;
        URI uri = server.endpoint().resolve("/hyperplane/v1/enis");
        Map<String, String> headers = SigV4Signer.sign("GET", uri.getRawPath(), null,
                Map.of("host", uri.getHost() + ":" + uri.getPort()), new byte[0], c, "us-east-1", "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET();
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("enis: " + response.statusCode() + " " + response.body());
            }
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The functions (name:version) the ENI at {@code ip} serves, per the ENI view. */
    List<String> functionsOn(String eniId) {
        for (JsonNode eni : enisView().path("NetworkInterfaces")) {
            if (eni.path("NetworkInterfaceId").asText().equals(eniId)) {
                return StreamSupport.stream(eni.path("Functions").spliterator(), false).map(JsonNode::asText).toList();
            }
        }
        return List.of();
    }

    /** A forwarder node's side of the protocol, spoken over HTTP with the fleet's bearer token. */
    HttpResponse<String> node(String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.endpoint().resolve(path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + server.nodeToken())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    void heartbeat(String node, long appliedVersion) {
        HttpResponse<String> r = node("PUT", "/hyperplane/v1/nodes/" + node,
                "{\"underlayIp\":\"198.18.0.9\",\"port\":4789,\"appliedVersion\":" + appliedVersion + ",\"enis\":[]}");
        if (r.statusCode() != 200) {
            throw new IllegalStateException("heartbeat: " + r.statusCode() + " " + r.body());
        }
    }

    @Override
    public void close() {
        lambda.close();
        iam.close();
        ec2.close();
        if (ownsServer) {
            server.close();
        }
    }
}
