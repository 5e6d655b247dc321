package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.control.lambda.EventInvokeConfigStore.Row;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Put- and UpdateFunctionEventInvokeConfig's request checks itself, in memory, with Lambda's error types and messages. */
class EventInvokeConfigRequestTest {
    private static final String SINK = "arn:aws:lambda:us-east-1:111111111111:function:sink";
    private static final String QUEUE = "arn:aws:sqs:us-east-1:111111111111:q";
    private static final Instant T0 = Instant.parse("2026-12-07T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-12-07T10:01:00Z");
    private static final String PATTERN = "$|kafka://([^.]([a-zA-Z0-9\\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}"
            + "((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)";

    private static EventInvokeConfigRequest request(String json) {
        JsonNode body = JsonFields.object(json.getBytes(StandardCharsets.UTF_8));
        return EventInvokeConfigRequest.from(body);
    }

    private static LambdaError refusal(String json) {
        LambdaError e = catchThrowableOfType(LambdaError.class, () -> request(json));
        assertThat(e).as("%s should be refused", json).isNotNull();
        return e;
    }

    @Test
    void shouldReadEveryMemberAndLeaveTheOthersUnset() {
        EventInvokeConfigRequest r = request("{\"MaximumRetryAttempts\":0,\"MaximumEventAgeInSeconds\":3600,"
                + "\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"" + SINK + "\"}}}");
        assertThat(r).isEqualTo(new EventInvokeConfigRequest(0, 3600, true, null, SINK));

        assertThat(request("{\"MaximumEventAgeInSeconds\":60}")).isEqualTo(new EventInvokeConfigRequest(null, 60, false, null, null));
    }

    @Test
    void shouldCountAnEmptyDestinationConfigAsASettingAsLambdaDoes() {
        assertThat(request("{\"DestinationConfig\":{\"OnSuccess\":{}}}")).isEqualTo(new EventInvokeConfigRequest(null, null, true, null, null));
        assertThat(request("{\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"\"}}}")).as("an empty Destination is none")
                .isEqualTo(new EventInvokeConfigRequest(null, null, true, null, null));
    }

    @Test
    void shouldRefuseWithLambdasMessages() {
        record Case(String json, String type, String message) {
        }
        String badArn = "arn:aws:_-/!lambda:us-east-1:111111111111:function:fn";
        List<Case> cases = List.of(
                new Case("{}", "InvalidParameterValueException", "You must specify at least one of error handling or destination setting."),
                new Case("{\"MaximumRetryAttempts\":null,\"DestinationConfig\":null}", "InvalidParameterValueException",
                        "You must specify at least one of error handling or destination setting."),
                new Case("{\"MaximumRetryAttempts\":3}", "ValidationException", "1 validation error detected: Value '3' at 'maximumRetryAttempts'"
                        + " failed to satisfy constraint: Member must have value less than or equal to 2"),
                new Case("{\"MaximumRetryAttempts\":-1}", "ValidationException", "1 validation error detected: Value '-1' at 'maximumRetryAttempts'"
                        + " failed to satisfy constraint: Member must have value greater than or equal to 0"),
                new Case("{\"MaximumEventAgeInSeconds\":59}", "ValidationException", "1 validation error detected: Value '59' at"
                        + " 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"),
                new Case("{\"MaximumEventAgeInSeconds\":21601}", "ValidationException", "1 validation error detected: Value '21601' at"
                        + " 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"),
                new Case("{\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"" + badArn + "\"}}}", "ValidationException",
                        "1 validation error detected: Value '" + badArn + "' at 'destinationConfig.onFailure.destination' failed to satisfy"
                                + " constraint: Member must satisfy regular expression pattern: " + PATTERN),
                new Case("{\"DestinationConfig\":{\"OnSuccess\":{\"Destination\":\"" + SINK + "x".repeat(300) + "\"}}}", "ValidationException",
                        "1 validation error detected: Value '" + SINK + "x".repeat(300) + "' at 'destinationConfig.onSuccess.destination' failed"
                                + " to satisfy constraint: Member must have length less than or equal to 350"));
        for (Case c : cases) {
            LambdaError e = refusal(c.json());
            assertThat(e.type()).as(c.json()).isEqualTo(c.type());
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.getMessage()).as(c.json()).isEqualTo(c.message());
        }
    }

    @Test
    void shouldReplaceEverythingOnPutAndMergeOnUpdate() {
        Row existing = new Row("1", 2, 60, SINK, QUEUE, T0);

        assertThat(request("{\"MaximumRetryAttempts\":0}").replacing("1", T1)).isEqualTo(new Row("1", 0, null, null, null, T1));
        assertThat(request("{\"MaximumRetryAttempts\":0}").mergedInto(existing, T1)).isEqualTo(new Row("1", 0, 60, SINK, QUEUE, T1));
        assertThat(request("{\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"" + SINK + "\"}}}").mergedInto(existing, T1))
                .as("a DestinationConfig given replaces both sides").isEqualTo(new Row("1", 2, 60, null, SINK, T1));
    }

    @Test
    void shouldDescribeTheDestinationsAsLambdaDoes() {
        assertThat(new EventInvokeConfigRequest(null, null, true, QUEUE, null).describeDestinations())
                .isEqualTo("DestinationConfig(onSuccess=OnSuccess(destination=" + QUEUE + "), onFailure=null)");
        assertThat(new EventInvokeConfigRequest(null, null, true, null, SINK).describeDestinations())
                .isEqualTo("DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=" + SINK + "))");
    }
}
