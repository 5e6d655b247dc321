package io.hyperplane.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The worker's side of its endpoints' JSON: an invocation read into a call, each result written as the control plane reads it. */
class WorkerWireTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldReadAnInvocationAsInvocationServiceWritesIt() throws Exception {
        FunctionCall call = WorkerWire.readInvoke(JSON.readTree("""
                {"requestId":"r-1","accountId":"123456789012","region":"us-east-1","functionName":"fn","version":"3",
                 "functionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn:3","runtime":"provided.al2023","handler":"bootstrap",
                 "memoryMb":256,"timeoutSeconds":7,"ephemeralStorageMb":1024,"codeSha256":"c2hh","revisionId":"rev-1","logType":"Tail",
                 "payload":"e30=","environment":{"B":"2","A":"1"},"clientContext":"{}",
                 "subnets":[{"subnetId":"subnet-1","eniId":"eni-1","securityGroupIds":["sg-1","sg-2"]}]}
                """));

        assertThat(call.requestId()).isEqualTo("r-1");
        assertThat(call.functionArn()).isEqualTo("arn:aws:lambda:us-east-1:123456789012:function:fn:3");
        assertThat(call.clientContext()).isEqualTo("{}");
        assertThat(new String(call.payload(), StandardCharsets.UTF_8)).isEqualTo("{}");
        FunctionConfig f = call.function();
        assertThat(f).isEqualTo(new FunctionConfig("123456789012", "us-east-1", "fn", "3", "provided.al2023", "bootstrap", 256, 7, 1024,
                "c2hh", "rev-1", Map.of("B", "2", "A", "1"), List.of(new FunctionConfig.Subnet("subnet-1", "eni-1", List.of("sg-1", "sg-2")))));
        assertThat(f.environment().keySet()).as("in the order given").containsExactly("B", "A");
        assertThat(f.environmentKey()).isEqualTo("123456789012/fn/3/rev-1");
        assertThat(f.inVpc()).isTrue();
    }

    @Test
    void shouldWriteACompletedColdInvocationWithItsPhases() {
        String json = WorkerWire.writeResult(new InvokeResult.Completed(false, "\"ok\"".getBytes(StandardCharsets.UTF_8), "log\n", true, "hp-ee-w1-3",
                new ColdStartPhases(1.5, 2.0, 3.25, 4.0, Double.NaN, false))).toString();

        assertThat(json).isEqualTo("{\"outcome\":\"success\",\"payload\":\"Im9rIg==\",\"log\":\"log\\n\",\"coldStart\":true,"
                + "\"environmentId\":\"hp-ee-w1-3\",\"phases\":{\"networkAttachMs\":1.5,\"processStartMs\":2.0,\"sandboxMs\":3.25,\"runtimeInitMs\":4.0}}");
    }

    @Test
    void shouldWriteAWarmFunctionErrorAsUnhandledWithoutPhases() {
        String json = WorkerWire.writeResult(new InvokeResult.Completed(true, "{}".getBytes(StandardCharsets.UTF_8), "", false, "hp-ee-w1-3",
                null)).toString();

        assertThat(json).isEqualTo("{\"outcome\":\"function-error\",\"payload\":\"e30=\",\"log\":\"\",\"coldStart\":false,"
                + "\"environmentId\":\"hp-ee-w1-3\",\"functionError\":\"Unhandled\"}");
    }

    @Test
    void shouldWriteAnInitFailureAsAColdFunctionError() {
        String json = WorkerWire.writeResult(new InvokeResult.InitFailed("{}".getBytes(StandardCharsets.UTF_8), "init\n")).toString();

        assertThat(json).isEqualTo("{\"outcome\":\"function-error\",\"functionError\":\"Unhandled\",\"payload\":\"e30=\",\"log\":\"init\\n\","
                + "\"coldStart\":true}");
    }

    @Test
    void shouldWriteAServiceErrorWithLambdasTypeAndStatus() {
        String json = WorkerWire.writeResult(new InvokeResult.Failed("EC2ThrottledException", 502, "Rate exceeded")).toString();

        assertThat(json).isEqualTo("{\"outcome\":\"error\",\"errorType\":\"EC2ThrottledException\",\"status\":502,\"message\":\"Rate exceeded\"}");
    }

    @Test
    void shouldReadAnEvictionAsTheFunctionsKeyPrefix() throws Exception {
        assertThat(WorkerWire.readEvictedFunction(JSON.readTree("{\"accountId\":\"123456789012\",\"functionName\":\"fn\"}")))
                .isEqualTo("123456789012/fn/");
        assertThat(WorkerWire.writeEvicted(2).toString()).isEqualTo("{\"ended\":2}");
    }
}
