package io.hyperplane.control.iam;

import io.hyperplane.sigv4.Credential;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.AttachedPolicy;
import software.amazon.awssdk.services.iam.model.IamException;
import software.amazon.awssdk.services.iam.model.Role;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The IAM subset through the AWS SDK's IamClient, and the permission check functions rely on. */
@Timeout(60)
class IamApiTest {
    private static final String TRUST = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}""";

    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private IamClient iam;
    private final List<IamClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null));
        iam = client(server.defaultCredential());
    }

    @AfterEach
    void stop() {
        clients.forEach(IamClient::close);
        server.close();
    }

    private IamClient client(Credential c) {
        IamClient client = IamClient.builder().endpointOverride(server.endpoint()).region(Region.AWS_GLOBAL)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .httpClient(UrlConnectionHttpClient.create()).build();
        clients.add(client);
        return client;
    }

    private static IamException error(Executable call) {
        return catchThrowableOfType(IamException.class, () -> call.execute());
    }

    private String account() {
        return server.defaultCredential().accountId();
    }

    @Test
    void shouldCreateGetAndDeleteARole() {
        Role created = iam.createRole(b -> b.roleName("fn-role").assumeRolePolicyDocument(TRUST).description("for functions")).role();
        assertThat(created.arn()).isEqualTo("arn:aws:iam::" + account() + ":role/fn-role");
        assertThat(created.roleId()).startsWith("AROA");

        Role fetched = iam.getRole(b -> b.roleName("fn-role")).role();
        assertThat(fetched.arn()).isEqualTo(created.arn());
        assertThat(fetched.description()).isEqualTo("for functions");
        assertThat(URLDecoder.decode(fetched.assumeRolePolicyDocument(), StandardCharsets.UTF_8)).contains("sts:AssumeRole");

        IamException duplicate = error(() -> iam.createRole(b -> b.roleName("fn-role").assumeRolePolicyDocument(TRUST)));
        assertThat(duplicate.awsErrorDetails().errorCode()).isEqualTo("EntityAlreadyExists");
        assertThat(duplicate.statusCode()).isEqualTo(409);
        iam.deleteRole(b -> b.roleName("fn-role"));
        IamException gone = error(() -> iam.getRole(b -> b.roleName("fn-role")));
        assertThat(gone.awsErrorDetails().errorCode()).isEqualTo("NoSuchEntity");
        assertThat(gone.statusCode()).isEqualTo(404);
    }

    @Test
    void shouldAttachManagedPoliciesAndRefuseToDeleteARoleThatHasThem() {
        iam.createRole(b -> b.roleName("fn-role").assumeRolePolicyDocument(TRUST));
        iam.attachRolePolicy(b -> b.roleName("fn-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));

        assertThat(iam.listAttachedRolePolicies(b -> b.roleName("fn-role")).attachedPolicies()).extracting(AttachedPolicy::policyName)
                .containsExactly("AWSLambdaVPCAccessExecutionRole");
        assertThat(error(() -> iam.attachRolePolicy(b -> b.roleName("fn-role").policyArn("arn:aws:iam::aws:policy/NoSuchPolicy")))
                .awsErrorDetails().errorCode()).isEqualTo("NoSuchEntity");
        assertThat(error(() -> iam.deleteRole(b -> b.roleName("fn-role"))).awsErrorDetails().errorCode()).isEqualTo("DeleteConflict");
        iam.detachRolePolicy(b -> b.roleName("fn-role").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        iam.deleteRole(b -> b.roleName("fn-role"));
    }

    @Test
    void shouldRejectMalformedPoliciesAndBadNames() {
        assertThat(error(() -> iam.createRole(b -> b.roleName("r").assumeRolePolicyDocument("{not json"))).awsErrorDetails().errorCode())
                .isEqualTo("MalformedPolicyDocument");
        iam.createRole(b -> b.roleName("r").assumeRolePolicyDocument(TRUST));
        assertThat(error(() -> iam.putRolePolicy(b -> b.roleName("r").policyName("p").policyDocument("{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\"}]}")))
                .awsErrorDetails().errorCode()).isEqualTo("MalformedPolicyDocument");
        assertThat(error(() -> iam.createRole(b -> b.roleName("bad name!").assumeRolePolicyDocument(TRUST))).statusCode()).isEqualTo(400);
    }

    @Test
    void shouldKeepRolesToTheirAccount() {
        iam.createRole(b -> b.roleName("mine").assumeRolePolicyDocument(TRUST));
        IamClient other = client(server.accounts().create());
        assertThat(error(() -> other.getRole(b -> b.roleName("mine"))).awsErrorDetails().errorCode()).isEqualTo("NoSuchEntity");
        other.createRole(b -> b.roleName("mine").assumeRolePolicyDocument(TRUST)); // same name, another account
    }

    @Test
    void shouldEvaluatePermissionsAsIamDoes() {
        iam.createRole(b -> b.roleName("vpc").assumeRolePolicyDocument(TRUST));
        iam.attachRolePolicy(b -> b.roleName("vpc").policyArn(ManagedPolicies.VPC_ACCESS_EXECUTION));
        iam.createRole(b -> b.roleName("basic").assumeRolePolicyDocument(TRUST));
        iam.attachRolePolicy(b -> b.roleName("basic").policyArn(ManagedPolicies.BASIC_EXECUTION));
        iam.createRole(b -> b.roleName("custom").assumeRolePolicyDocument(TRUST));
        iam.putRolePolicy(b -> b.roleName("custom").policyName("all-ec2").policyDocument(
                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:*\",\"Resource\":\"*\"},"
                        + "{\"Effect\":\"Deny\",\"Action\":\"ec2:Delete*\",\"Resource\":\"*\"}]}"));
        IamApi api = server.iam();
        String prefix = "arn:aws:iam::" + account() + ":role/";

        for (String action : List.of("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface")) {
            assertThat(api.allows(account(), prefix + "vpc", action)).as(action).isTrue();
            assertThat(api.allows(account(), prefix + "basic", action)).as("basic role: " + action).isFalse();
        }
        assertThat(api.allows(account(), prefix + "vpc", "EC2:createnetworkinterface")).as("actions match case-insensitively").isTrue();
        assertThat(api.allows(account(), prefix + "custom", "ec2:CreateNetworkInterface")).as("wildcard allow").isTrue();
        assertThat(api.allows(account(), prefix + "custom", "ec2:DeleteNetworkInterface")).as("explicit deny wins").isFalse();
        assertThat(api.allows(account(), prefix + "nobody", "ec2:CreateNetworkInterface")).as("unknown role").isFalse();
        assertThat(api.allows("000000000000", prefix + "vpc", "ec2:CreateNetworkInterface")).as("another account's role").isFalse();
    }
}
