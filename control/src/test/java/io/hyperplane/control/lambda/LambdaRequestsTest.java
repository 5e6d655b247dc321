package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The request records check themselves, in memory, with Lambda's error types and messages. */
class LambdaRequestsTest {
    private static final String ROLE = "arn:aws:iam::123456789012:role/fn";
    private static final String ZIP = Base64.getEncoder().encodeToString(LambdaWorld.ZIP);

    private static JsonNode body(String json) {
        return JsonFields.object(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String create(String members) {
        return "{\"FunctionName\":\"fn\",\"Role\":\"" + ROLE + "\",\"Runtime\":\"python3.12\",\"Handler\":\"app.handler\",\"Code\":{\"ZipFile\":\""
                + ZIP + "\"}" + members + "}";
    }

    private static LambdaError refusal(Runnable request) {
        return catchThrowableOfType(LambdaError.class, request::run);
    }

    @Test
    void shouldFillInLambdasDefaults() {
        CreateFunctionRequest request = CreateFunctionRequest.from(body(create("")));
        assertThat(request.timeout()).isEqualTo(3);
        assertThat(request.memorySize()).isEqualTo(128);
        assertThat(request.ephemeralStorage()).isEqualTo(512);
        assertThat(request.description()).isEmpty();
        assertThat(request.environment()).isNull();
        assertThat(request.vpcConfig()).isNull();
        assertThat(request.code().size()).isEqualTo(LambdaWorld.ZIP.length);
    }

    @Test
    void shouldRefuseACreateRequestWithLambdasMessages() {
        record Case(String members, String type, String message) {
        }
        List<Case> cases = List.of(
                new Case(",\"FunctionName\":\"has space\"", "ValidationException", "1 validation error detected: Value 'has space' at 'functionName'"
                        + " failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"),
                new Case(",\"Runtime\":\"cobol\"", "InvalidParameterValueException", null),
                new Case(",\"Handler\":null", "InvalidParameterValueException", "Handler is required for .zip deployment packages."),
                new Case(",\"Timeout\":901", "ValidationException", "1 validation error detected: Value '901' at 'timeout' failed to satisfy"
                        + " constraint: Member must have value less than or equal to 900"),
                new Case(",\"EphemeralStorage\":{}", "ValidationException", "1 validation error detected: Value 'null' at 'ephemeralStorage.size'"
                        + " failed to satisfy constraint: Member must not be null"),
                new Case(",\"Code\":{\"S3Bucket\":\"b\"}", "InvalidParameterValueException",
                        "Only ZipFile code is supported here; S3 and container images are not."),
                new Case(",\"Environment\":{\"Variables\":{\"AWS_REGION\":\"x\"}}", "InvalidParameterValueException", null),
                new Case(",\"VpcConfig\":{\"SubnetIds\":[\"subnet-1\"]}", "InvalidParameterValueException",
                        "SecurityGroupIds must be provided when SubnetIds are specified."));
        for (Case c : cases) {
            LambdaError e = refusal(() -> CreateFunctionRequest.from(body(create(c.members()))));
            assertThat(e.type()).as(c.members()).isEqualTo(c.type());
            if (c.message() != null) {
                assertThat(e.getMessage()).as(c.members()).isEqualTo(c.message());
            }
        }
    }

    @Test
    void shouldKeepAtMostSixteenSubnetsAndFiveGroups() {
        List<String> subnets = IntStream.range(0, 17).mapToObj(i -> "subnet-" + i).toList();
        assertThat(refusal(() -> new VpcConfigRequest(subnets, List.of("sg-1"), false)).getMessage())
                .endsWith("at 'vpcConfig.subnetIds' failed to satisfy constraint: Member must have length less than or equal to 16");
        List<String> groups = IntStream.range(0, 6).mapToObj(i -> "sg-" + i).toList();
        assertThat(refusal(() -> new VpcConfigRequest(List.of("subnet-1"), groups, false)).getMessage())
                .endsWith("at 'vpcConfig.securityGroupIds' failed to satisfy constraint: Member must have length less than or equal to 5");
        assertThat(new VpcConfigRequest(List.of(), List.of(), false).detaches()).isTrue();
    }

    @Test
    void shouldTellAnUpdateThatKeepsAMemberFromOneThatRemovesIt() {
        UpdateConfigurationRequest keep = UpdateConfigurationRequest.from(body("{\"Timeout\":10}"));
        assertThat(keep.environmentGiven()).isFalse();
        assertThat(keep.vpcConfigGiven()).isFalse();
        assertThat(keep.description()).isNull();
        UpdateConfigurationRequest remove = UpdateConfigurationRequest.from(body("{\"Environment\":null,\"VpcConfig\":null,\"Description\":null}"));
        assertThat(remove.environmentGiven()).isTrue();
        assertThat(remove.environment()).isNull();
        assertThat(remove.vpcConfigGiven()).isTrue();
        assertThat(remove.vpcConfig()).isNull();
        assertThat(remove.description()).isEmpty();
        assertThat(refusal(() -> UpdateConfigurationRequest.from(body("{\"MemorySize\":64}"))).type()).isEqualTo("ValidationException");
    }

    @Test
    void shouldPageListsAtFiftyAndReadTheirMarkers() {
        ListRequest request = ListRequest.from(Map.of("MaxItems", "1000", "Marker", ListRequest.markerAt(50)));
        assertThat(request.pageSize()).isEqualTo(50);
        assertThat(request.start()).isEqualTo(50);
        assertThat(refusal(() -> ListRequest.from(Map.of("MaxItems", "0"))).getMessage())
                .isEqualTo("1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000");
        assertThat(refusal(() -> ListRequest.from(Map.of("Marker", "!!"))).getMessage()).isEqualTo("Invalid Marker: !!");
    }

    @Test
    void shouldRefuseANegativeReservation() {
        assertThat(refusal(() -> ConcurrencyRequest.from(body("{\"ReservedConcurrentExecutions\":-1}"))).getMessage())
                .endsWith("Member must have value greater than or equal to 0");
        assertThat(refusal(() -> ConcurrencyRequest.from(body("{}"))).getMessage()).endsWith("Member must not be null");
        assertThatThrownBy(() -> JsonFields.object("[1]".getBytes(StandardCharsets.UTF_8))).isInstanceOf(LambdaError.class)
                .hasMessage("The request body must be a JSON object.");
    }
}
