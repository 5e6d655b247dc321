package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The invocation JSON the control plane's InvocationService sends, as the worker reads it. */
class InvokeRequestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An invocation as InvocationService writes it, with {@code extra} fields added. */
    private static JsonNode invocation(String extra) throws Exception {
        return JSON.readTree("""
                {"requestId":"r-1","accountId":"123456789012","region":"us-east-1","functionName":"fn","version":"$LATEST",
                 "functionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn","runtime":"provided.al2023","handler":"bootstrap",
                 "memoryMb":256,"timeoutSeconds":7,"codeSha256":"c2hh","revisionId":"rev-1","logType":"Tail",
                 "payload":"e30=","environment":{"GREETING":"hi"},
                 "subnets":[{"subnetId":"subnet-1","eniId":"eni-1","securityGroupIds":["sg-1","sg-2"]}]%s}
                """.formatted(extra));
    }

    @Test
    void shouldReadTheEphemeralStorageSize() throws Exception {
        InvokeRequest r = InvokeRequest.parse(invocation(",\"ephemeralStorageMb\":10240"));

        assertThat(r.ephemeralStorageMb()).isEqualTo(10240);
        assertThat(r.memoryMb()).isEqualTo(256);
        assertThat(r.timeoutSeconds()).isEqualTo(7);
    }

    @Test
    void shouldDefaultTheEphemeralStorageToLambdasDefaultWhenTheControlPlaneSendsNone() throws Exception {
        assertThat(InvokeRequest.parse(invocation("")).ephemeralStorageMb()).isEqualTo(512);
    }

    @Test
    void shouldReadEveryOtherFieldTheControlPlaneSends() throws Exception {
        InvokeRequest r = InvokeRequest.parse(invocation(",\"ephemeralStorageMb\":1024,\"clientContext\":\"{}\""));

        assertThat(r.requestId()).isEqualTo("r-1");
        assertThat(r.functionArn()).isEqualTo("arn:aws:lambda:us-east-1:123456789012:function:fn");
        assertThat(r.runtime()).isEqualTo("provided.al2023");
        assertThat(r.handler()).isEqualTo("bootstrap");
        assertThat(r.codeSha256()).isEqualTo("c2hh");
        assertThat(r.environment()).containsExactly(Map.entry("GREETING", "hi"));
        assertThat(r.subnets()).containsExactly(new InvokeRequest.Subnet("subnet-1", "eni-1", List.of("sg-1", "sg-2")));
        assertThat(r.logType()).isEqualTo("Tail");
        assertThat(r.clientContext()).isEqualTo("{}");
        assertThat(new String(r.payload(), StandardCharsets.UTF_8)).isEqualTo("{}");
        assertThat(r.environmentKey()).isEqualTo("123456789012/fn/$LATEST/rev-1");
        assertThat(r.inVpc()).isTrue();
    }
}
