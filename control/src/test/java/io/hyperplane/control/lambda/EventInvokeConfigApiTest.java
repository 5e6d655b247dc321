package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.lambda.model.GetFunctionEventInvokeConfigResponse;
import software.amazon.awssdk.services.lambda.model.LambdaException;
import software.amazon.awssdk.services.lambda.model.ListFunctionEventInvokeConfigsResponse;
import software.amazon.awssdk.services.lambda.model.PutFunctionEventInvokeConfigRequest;
import software.amazon.awssdk.services.lambda.model.PutFunctionEventInvokeConfigResponse;
import software.amazon.awssdk.services.lambda.model.UpdateFunctionEventInvokeConfigResponse;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s) through the AWS SDK's LambdaClient
 * against a real control plane: Lambda's shapes, paging, every refusal with its code, status and
 * message, the destination rule (Lambda functions only), versions, and deletion with the function.
 */
@Timeout(120)
class EventInvokeConfigApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NOTHING_SET = "You must specify at least one of error handling or destination setting.";

    @TempDir
    Path dir;
    private LambdaWorld w;
    private String role;
    private String fnArn;
    private String sinkArn;

    @BeforeEach
    void start() throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)));
        role = w.role("fn-role");
        fnArn = w.create("fn", role, null, null).functionArn();
        sinkArn = w.create("sink", role, null, null).functionArn();
        w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("fn"));
        w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("sink"));
    }

    @AfterEach
    void stop() {
        w.close();
    }

    private PutFunctionEventInvokeConfigResponse put(Consumer<PutFunctionEventInvokeConfigRequest.Builder> request) {
        return w.lambda.putFunctionEventInvokeConfig(b -> request.accept(b.functionName("fn")));
    }

    private GetFunctionEventInvokeConfigResponse get(String qualifier) {
        return w.lambda.getFunctionEventInvokeConfig(b -> b.functionName("fn").qualifier(qualifier));
    }

    private static LambdaException error(Runnable call) {
        LambdaException e = catchThrowableOfType(LambdaException.class, call::run);
        assertThat(e).as("the call should have failed").isNotNull();
        return e;
    }

    private static void assertRefused(LambdaException e, int status, String code, String message) {
        assertThat(e.statusCode()).as(message).isEqualTo(status);
        assertThat(e.awsErrorDetails().errorCode()).as(message).isEqualTo(code);
        assertThat(e.awsErrorDetails().errorMessage()).isEqualTo(message);
    }

    private String noConfig(String qualifier) {
        return "The function " + fnArn + ":" + qualifier + " doesn't have an EventInvokeConfig";
    }

    /** A request signed as the test's account, for what the SDK does not show: the raw JSON, and routes it has no operation for. */
    private HttpResponse<String> raw(String method, String path, String query) throws Exception {
        Credential c = w.server.defaultCredential();
        URI uri = w.server.endpoint().resolve(path + (query == null ? "" : "?" + query));
        Map<String, String> headers = SigV4Signer.sign(method, uri.getRawPath(), query, Map.of("host", uri.getHost() + ":" + uri.getPort()),
                new byte[0], c, "us-east-1", "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).method(method, HttpRequest.BodyPublishers.noBody());
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void shouldPutGetUpdateListAndDeleteWithLambdasShapes() throws Exception {
        Instant before = Instant.now().minusSeconds(1);
        PutFunctionEventInvokeConfigResponse put = put(b -> b.maximumRetryAttempts(0));
        assertThat(put.functionArn()).as("always qualified").isEqualTo(fnArn + ":$LATEST");
        assertThat(put.maximumRetryAttempts()).isZero();
        assertThat(put.maximumEventAgeInSeconds()).as("not set, so not shown").isNull();
        assertThat(put.destinationConfig().onSuccess().destination()).isNull();
        assertThat(put.destinationConfig().onFailure().destination()).isNull();
        assertThat(put.lastModified()).isBetween(before, Instant.now().plusSeconds(1));

        HttpResponse<String> raw = raw("GET", "/2019-09-25/functions/fn/event-invoke-config", null);
        assertThat(raw.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(raw.body());
        assertThat(body.get("LastModified").isNumber()).as("epoch seconds, a number: %s", raw.body()).isTrue();
        assertThat(body.get("LastModified").decimalValue().movePointRight(3).longValueExact()).isEqualTo(put.lastModified().toEpochMilli());
        assertThat(body.get("DestinationConfig")).isEqualTo(JSON.readTree("{\"OnSuccess\":{},\"OnFailure\":{}}"));
        assertThat(body.has("MaximumEventAgeInSeconds")).isFalse();

        UpdateFunctionEventInvokeConfigResponse updated = w.lambda.updateFunctionEventInvokeConfig(b -> b.functionName("fn")
                .maximumEventAgeInSeconds(3600).destinationConfig(d -> d.onFailure(f -> f.destination(sinkArn))));
        assertThat(updated.maximumRetryAttempts()).as("kept").isZero();
        assertThat(updated.maximumEventAgeInSeconds()).isEqualTo(3600);
        assertThat(updated.destinationConfig().onFailure().destination()).isEqualTo(sinkArn);
        assertThat(w.lambda.getFunctionEventInvokeConfig(b -> b.functionName(fnArn))).as("by ARN, unqualified: $LATEST")
                .hasToString(get("$LATEST").toString());

        PutFunctionEventInvokeConfigResponse replaced = put(b -> b.maximumEventAgeInSeconds(60));
        assertThat(replaced.maximumRetryAttempts()).as("Put replaces the whole configuration").isNull();
        assertThat(replaced.destinationConfig().onFailure().destination()).isNull();
        assertThat(get("$LATEST").maximumEventAgeInSeconds()).isEqualTo(60);

        ListFunctionEventInvokeConfigsResponse list = w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn"));
        assertThat(list.functionEventInvokeConfigs()).extracting(c -> c.functionArn()).containsExactly(fnArn + ":$LATEST");
        assertThat(list.nextMarker()).isNull();

        w.lambda.deleteFunctionEventInvokeConfig(b -> b.functionName("fn"));
        assertRefused(error(() -> get("$LATEST")), 404, "ResourceNotFoundException", noConfig("$LATEST"));
        assertRefused(error(() -> w.lambda.deleteFunctionEventInvokeConfig(b -> b.functionName("fn"))), 404, "ResourceNotFoundException",
                noConfig("$LATEST"));
        assertThat(w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn")).functionEventInvokeConfigs()).isEmpty();
    }

    @Test
    void shouldKeepAVersionsConfigurationApartFromLatests() {
        String version = w.lambda.publishVersion(b -> b.functionName("fn")).version();
        put(b -> b.qualifier(version).maximumEventAgeInSeconds(120));
        PutFunctionEventInvokeConfigResponse shorthand = w.lambda.putFunctionEventInvokeConfig(b -> b.functionName("fn:" + version)
                .maximumEventAgeInSeconds(180));

        assertThat(shorthand.functionArn()).isEqualTo(fnArn + ":" + version);
        assertThat(get(version).maximumEventAgeInSeconds()).isEqualTo(180);
        assertRefused(error(() -> get("$LATEST")), 404, "ResourceNotFoundException", noConfig("$LATEST"));
        assertThat(w.lambda.getFunctionEventInvokeConfig(b -> b.functionName(fnArn + ":" + version)).maximumEventAgeInSeconds()).isEqualTo(180);

        assertRefused(error(() -> w.lambda.putFunctionEventInvokeConfig(b -> b.functionName("fn:" + version).qualifier("$LATEST")
                .maximumRetryAttempts(1))), 400, "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.");
        assertRefused(error(() -> put(b -> b.qualifier("live").maximumRetryAttempts(1))), 404, "ResourceNotFoundException",
                "The function doesn't exist.");
        assertRefused(error(() -> put(b -> b.qualifier("9").maximumRetryAttempts(1))), 404, "ResourceNotFoundException",
                "The function doesn't exist.");
        assertRefused(error(() -> get("live")), 404, "ResourceNotFoundException", noConfig("live"));

        w.lambda.deleteFunction(b -> b.functionName("fn").qualifier(version));
        assertThat(w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn")).functionEventInvokeConfigs())
                .as("deleting the version deleted its configuration").isEmpty();
    }

    @Test
    void shouldPageTheListWithMarkerAndMaxItems() {
        put(b -> b.maximumRetryAttempts(0));
        for (int i = 0; i < 2; i++) {
            String version = w.lambda.publishVersion(b -> b.functionName("fn").description("v" + System.nanoTime())).version();
            put(b -> b.qualifier(version).maximumRetryAttempts(1));
        }

        ListFunctionEventInvokeConfigsResponse first = w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn").maxItems(2));
        assertThat(first.functionEventInvokeConfigs()).extracting(c -> c.functionArn()).containsExactly(fnArn + ":$LATEST", fnArn + ":1");
        assertThat(first.nextMarker()).isNotNull();
        ListFunctionEventInvokeConfigsResponse second = w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn").maxItems(2)
                .marker(first.nextMarker()));
        assertThat(second.functionEventInvokeConfigs()).extracting(c -> c.functionArn()).containsExactly(fnArn + ":2");
        assertThat(second.nextMarker()).isNull();
        assertThat(w.lambda.listFunctionEventInvokeConfigsPaginator(b -> b.functionName("fn").maxItems(1)).functionEventInvokeConfigs())
                .hasSize(3);

        assertRefused(error(() -> w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn").maxItems(51))), 400, "ValidationException",
                "1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50");
        assertRefused(error(() -> w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn").maxItems(0))), 400, "ValidationException",
                "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1");
    }

    @Test
    void shouldRefuseWithLambdasCodesStatusesAndMessages() {
        record Case(String what, Runnable call, int status, String code, String message) {
        }
        String missing = sinkArn.replace(":sink", ":doesnotexist");
        String iam = fnArn.replace(":lambda:", ":iam:");
        List<Case> cases = List.of(
                new Case("nothing set", () -> put(b -> { }), 400, "InvalidParameterValueException", NOTHING_SET),
                new Case("nothing set, no function", () -> w.lambda.putFunctionEventInvokeConfig(b -> b.functionName("doesnotexist")), 400,
                        "InvalidParameterValueException", NOTHING_SET),
                new Case("update with nothing set", () -> w.lambda.updateFunctionEventInvokeConfig(b -> b.functionName("fn")), 400,
                        "InvalidParameterValueException", NOTHING_SET),
                new Case("retries", () -> put(b -> b.maximumRetryAttempts(3)), 400, "ValidationException", "1 validation error detected: Value '3'"
                        + " at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"),
                new Case("age", () -> put(b -> b.maximumEventAgeInSeconds(59)), 400, "ValidationException", "1 validation error detected: Value"
                        + " '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"),
                new Case("no function", () -> w.lambda.putFunctionEventInvokeConfig(b -> b.functionName("doesnotexist").maximumRetryAttempts(1)),
                        404, "ResourceNotFoundException", "The function doesn't exist."),
                new Case("no function by ARN", () -> w.lambda.putFunctionEventInvokeConfig(b -> b.functionName(missing).maximumRetryAttempts(1)),
                        404, "ResourceNotFoundException", "The function doesn't exist."),
                new Case("update, no function", () -> w.lambda.updateFunctionEventInvokeConfig(b -> b.functionName("doesnotexist")
                        .maximumRetryAttempts(0)), 404, "ResourceNotFoundException", "The function doesn't exist."),
                new Case("update, no configuration", () -> w.lambda.updateFunctionEventInvokeConfig(b -> b.functionName(fnArn)
                        .maximumRetryAttempts(0)), 404, "ResourceNotFoundException", noConfig("$LATEST")),
                new Case("get, no function", () -> w.lambda.getFunctionEventInvokeConfig(b -> b.functionName("doesnotexist")), 404,
                        "ResourceNotFoundException", "The function " + missing + ":$LATEST doesn't have an EventInvokeConfig"),
                new Case("delete, no function", () -> w.lambda.deleteFunctionEventInvokeConfig(b -> b.functionName("doesnotexist")), 404,
                        "ResourceNotFoundException", "The function " + missing + ":$LATEST doesn't have an EventInvokeConfig"),
                new Case("list, no function", () -> w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("doesnotexist")), 404,
                        "ResourceNotFoundException", "The function doesn't exist."),
                new Case("another account's function", () -> w.lambda.putFunctionEventInvokeConfig(b -> b.functionName(
                        "arn:aws:lambda:us-east-1:999999999999:function:fn").maximumRetryAttempts(1)), 403, "AccessDeniedException",
                        "The caller account " + w.account() + " cannot access functions of account 999999999999"),
                new Case("destination function missing", () -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(missing)))), 400,
                        "InvalidParameterValueException", "The destination ARN " + missing + " is invalid."),
                new Case("destination version missing", () -> put(b -> b.destinationConfig(d -> d.onFailure(s -> s.destination(sinkArn + ":7")))),
                        400, "InvalidParameterValueException", "The destination ARN " + sinkArn + ":7 is invalid."),
                new Case("destination a layer", () -> put(b -> b.destinationConfig(d -> d.onFailure(s -> s.destination(
                        sinkArn.replace(":function:", ":layer:"))))), 400, "InvalidParameterValueException",
                        "The destination ARN " + sinkArn.replace(":function:", ":layer:") + " is invalid."),
                new Case("destination itself", () -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(fnArn)))), 400,
                        "InvalidParameterValueException", "You can't specify the function as a destination for itself."),
                new Case("destination another service", () -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(iam)))), 400,
                        "InvalidParameterValueException", "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=" + iam
                        + "), onFailure=null) is invalid."),
                new Case("destination malformed", () -> put(b -> b.destinationConfig(d -> d.onFailure(s -> s.destination("not-an-arn")))), 400,
                        "ValidationException", "1 validation error detected: Value 'not-an-arn' at 'destinationConfig.onFailure.destination' failed to"
                        + " satisfy constraint: Member must satisfy regular expression pattern: $|kafka://([^.]([a-zA-Z0-9\\-_.]{0,248}))|arn:"
                        + "(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)"),
                new Case("destination in another account", () -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(
                        "arn:aws:lambda:us-east-1:999999999999:function:sink")))), 400, "InvalidParameterValueException",
                        "The destination ARN arn:aws:lambda:us-east-1:999999999999:function:sink is not supported: only functions in the caller's"
                                + " account and region (" + w.account() + ", us-east-1) can be destinations."),
                new Case("destination in another region", () -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(
                        sinkArn.replace("us-east-1", "eu-west-1"))))), 400, "InvalidParameterValueException",
                        "The destination ARN " + sinkArn.replace("us-east-1", "eu-west-1") + " is not supported: only functions in the caller's"
                                + " account and region (" + w.account() + ", us-east-1) can be destinations."));
        for (Case c : cases) {
            LambdaException e = error(c.call());
            assertThat(e.statusCode()).as(c.what()).isEqualTo(c.status());
            assertThat(e.awsErrorDetails().errorCode()).as(c.what()).isEqualTo(c.code());
            assertThat(e.awsErrorDetails().errorMessage()).as(c.what()).isEqualTo(c.message());
        }
        assertThat(w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn")).functionEventInvokeConfigs())
                .as("no refused call stored anything").isEmpty();
    }

    @Test
    void shouldRefuseEveryDestinationTypeThisSystemHasNoServiceForOnEitherSide() {
        String account = w.account();
        Map<String, String> destinations = Map.of(
                "arn:aws:sqs:us-east-1:" + account + ":failed", "Amazon SQS queues",
                "arn:aws:sns:us-east-1:" + account + ":outcomes", "Amazon SNS topics",
                "arn:aws:events:us-east-1:" + account + ":event-bus/default", "Amazon EventBridge event buses",
                "arn:aws:s3:::failed-invocations", "Amazon S3 buckets");
        put(b -> b.maximumRetryAttempts(1));
        destinations.forEach((arn, kind) -> {
            String message = "The destination ARN " + arn + " is not supported: Hyperplane has no " + kind + ". Only Lambda functions can be"
                    + " destinations.";
            assertRefused(error(() -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(arn))))), 400,
                    "InvalidParameterValueException", message);
            assertRefused(error(() -> put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(sinkArn)).onFailure(f -> f.destination(arn))))),
                    400, "InvalidParameterValueException", message);
            assertRefused(error(() -> w.lambda.updateFunctionEventInvokeConfig(b -> b.functionName("fn")
                    .destinationConfig(d -> d.onFailure(f -> f.destination(arn))))), 400, "InvalidParameterValueException", message);
        });
        GetFunctionEventInvokeConfigResponse kept = get("$LATEST");
        assertThat(kept.maximumRetryAttempts()).as("what was there is untouched").isEqualTo(1);
        assertThat(kept.destinationConfig().onSuccess().destination()).isNull();
        assertThat(kept.destinationConfig().onFailure().destination()).isNull();
    }

    @Test
    void shouldAcceptAnotherFunctionOrItsVersionAsADestination() {
        String version = w.lambda.publishVersion(b -> b.functionName("sink")).version();
        PutFunctionEventInvokeConfigResponse put = put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(sinkArn))
                .onFailure(f -> f.destination(sinkArn + ":" + version))));

        assertThat(put.destinationConfig().onSuccess().destination()).isEqualTo(sinkArn);
        assertThat(put.destinationConfig().onFailure().destination()).isEqualTo(sinkArn + ":" + version);
        assertThat(put.maximumRetryAttempts()).isNull();

        PutFunctionEventInvokeConfigResponse emptied = put(b -> b.destinationConfig(d -> d.onSuccess(s -> s.destination(""))));
        assertThat(emptied.destinationConfig().onSuccess().destination()).as("an empty destination is none").isNull();
    }

    @Test
    void shouldDeleteEveryConfigurationWithTheFunction() {
        String version = w.lambda.publishVersion(b -> b.functionName("fn")).version();
        put(b -> b.maximumRetryAttempts(0));
        put(b -> b.qualifier(version).maximumRetryAttempts(1));

        w.lambda.deleteFunction(b -> b.functionName("fn"));
        assertRefused(error(() -> w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn"))), 404, "ResourceNotFoundException",
                "The function doesn't exist.");
        w.create("fn", role, null, null);
        w.lambda.waiter().waitUntilFunctionActiveV2(b -> b.functionName("fn"));
        assertThat(w.lambda.listFunctionEventInvokeConfigs(b -> b.functionName("fn")).functionEventInvokeConfigs())
                .as("a new function of the same name starts without the old one's").isEmpty();
    }

    @Test
    void shouldAnswerUnknownOperationsUnderTheApiVersion() throws Exception {
        HttpResponse<String> unknown = raw("GET", "/2019-09-25/functions/fn/event-invoke-configs", null);

        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(unknown.headers().firstValue("X-Amzn-ErrorType")).contains("UnknownOperationException");
        assertThat(unknown.body()).contains("Unknown operation: GET /2019-09-25/functions/fn/event-invoke-configs");
    }
}
