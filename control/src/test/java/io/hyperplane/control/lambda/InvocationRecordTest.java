package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InvocationRecordTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST";
    private static final Instant AT = Instant.parse("2026-12-07T10:00:00.123456Z");

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void shouldWriteLambdasDocumentForAFailure() throws Exception {
        JsonNode record = JSON.readTree(new InvocationRecord("req-1", ARN, "RetriesExhausted", 3, utf8("{\"k\":\"v\"}"),
                new InvocationRecord.Response("$LATEST", "Unhandled", utf8("{\"errorMessage\":\"boom\"}")), AT).toJson());
        assertThat(record).isEqualTo(JSON.readTree("""
                {"version":"1.0","timestamp":"2026-12-07T10:00:00.123Z",
                 "requestContext":{"requestId":"req-1","functionArn":"%s","condition":"RetriesExhausted","approximateInvokeCount":3},
                 "requestPayload":{"k":"v"},
                 "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
                 "responsePayload":{"errorMessage":"boom"}}""".formatted(ARN)));
    }

    @Test
    void shouldLeaveOutFunctionErrorOnSuccessAndTheResponseWhenTheFunctionNeverRan() throws Exception {
        JsonNode success = JSON.readTree(new InvocationRecord("r", ARN, "Success", 1, utf8("1"),
                new InvocationRecord.Response("3", null, utf8("\"done\"")), AT).toJson());
        assertThat(success.path("responseContext").has("functionError")).isFalse();
        assertThat(success.path("responseContext").path("executedVersion").asText()).isEqualTo("3");
        assertThat(success.path("responsePayload").asText()).isEqualTo("done");
        JsonNode aged = JSON.readTree(new InvocationRecord("r", ARN, "EventAgeExceeded", 0, utf8("{}"), null, AT).toJson());
        assertThat(aged.has("responseContext")).isFalse();
        assertThat(aged.has("responsePayload")).isFalse();
    }

    @Test
    void shouldGivePayloadsThatAreNotJsonAsStrings() throws Exception {
        JsonNode record = JSON.readTree(new InvocationRecord("r", ARN, "Success", 1, utf8("not json"),
                new InvocationRecord.Response("$LATEST", null, new byte[0]), AT).toJson());
        assertThat(record.path("requestPayload").asText()).isEqualTo("not json");
        assertThat(record.path("responsePayload").isNull()).isTrue();
    }

    @Test
    void shouldRefuseARecordWithoutItsRequestId() {
        assertThatThrownBy(() -> new InvocationRecord(null, ARN, "Success", 1, new byte[0], null, AT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("request id");
    }
}
