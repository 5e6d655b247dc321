package io.hyperplane.worker;

import io.hyperplane.config.fleet.Evicted;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.Payload;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The worker's side of its endpoints' fleet messages: an invoke request as the control plane encodes
 * it read into a call, each result mapped to the fleet's, an eviction read into the function's key prefix.
 */
class WorkerWireTest {

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static InvokeRequest request() {
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("B", "2");
        environment.put("A", "1");
        return new InvokeRequest("r-1", "123456789012", "us-east-1", "fn", "3", "arn:aws:lambda:us-east-1:123456789012:function:fn:3",
                "provided.al2023", "bootstrap", 256, 7, 1024, "c2hh", "rev-1", environment,
                List.of(new InvokeRequest.Subnet("subnet-1", "eni-1", List.of("sg-1", "sg-2"))), "10.0.0.2", "{}", new Payload(bytes("{}")));
    }

    @Test
    void shouldReadAnInvokeRequestAsTheControlPlaneEncodesIt() {
        FunctionCall call = WorkerWire.readInvoke(bytes(FleetJson.encode(request())));

        assertThat(call.requestId()).isEqualTo("r-1");
        assertThat(call.functionArn()).isEqualTo("arn:aws:lambda:us-east-1:123456789012:function:fn:3");
        assertThat(call.clientContext()).isEqualTo("{}");
        assertThat(new String(call.payload(), StandardCharsets.UTF_8)).isEqualTo("{}");
        FunctionConfig f = call.function();
        assertThat(f).isEqualTo(new FunctionConfig("123456789012", "us-east-1", "fn", "3", "provided.al2023", "bootstrap", 256, 7, 1024,
                "c2hh", "rev-1", Map.of("B", "2", "A", "1"), List.of(new FunctionConfig.Subnet("subnet-1", "eni-1", List.of("sg-1", "sg-2"))),
                "10.0.0.2"));
        assertThat(f.environment().keySet()).as("in the order given").containsExactly("B", "A");
        assertThat(f.inVpc()).isTrue();
    }

    @Test
    void shouldReadAnInvocationWithoutHandlerOrClientContext() {
        InvokeRequest r = request();
        InvokeRequest bare = new InvokeRequest(r.requestId(), r.accountId(), r.region(), r.functionName(), r.version(), r.functionArn(),
                r.runtime(), null, r.memoryMb(), r.timeoutSeconds(), r.ephemeralStorageMb(), r.codeSha256(), r.revisionId(), Map.of(), List.of(),
                "192.0.2.2", null, r.payload());

        FunctionCall call = WorkerWire.readInvoke(bytes(FleetJson.encode(bare)));

        assertThat(call.clientContext()).isNull();
        assertThat(call.function().handler()).isNull();
        assertThat(call.function().inVpc()).isFalse();
        assertThat(call.function().nameserver()).isEqualTo("192.0.2.2");
    }

    @Test
    void shouldKeyEnvironmentsByTheirNetworkSoThatAVpcConfigChangeIsNeverServedByTheOldOne() {
        FunctionConfig inVpc = WorkerWire.readInvoke(bytes(FleetJson.encode(request()))).function();
        FunctionConfig detached = Functions.function("fn");
        FunctionConfig detachedSameRevision = new FunctionConfig(inVpc.accountId(), inVpc.region(), inVpc.functionName(), inVpc.version(),
                inVpc.runtime(), inVpc.handler(), inVpc.memoryMb(), inVpc.timeoutSeconds(), inVpc.ephemeralStorageMb(), inVpc.codeSha256(),
                inVpc.revisionId(), inVpc.environment(), List.of(), detached.nameserver());

        assertThat(inVpc.environmentKey()).isEqualTo("123456789012/fn/3/rev-1/eni-1");
        assertThat(detachedSameRevision.environmentKey()).isEqualTo("123456789012/fn/3/rev-1/eni-hyperplane-egress");
        assertThat(Functions.inVpc("fn", Functions.subnet("subnet-b", "eni-b"), Functions.subnet("subnet-a", "eni-a")).environmentKey())
                .as("its ENIs, in any order").endsWith("/eni-a,eni-b");
    }

    @Test
    void shouldRefuseABodyThatIsNoInvokeRequestSayingWhatIsWrong() {
        String json = FleetJson.encode(request());

        assertThatThrownBy(() -> WorkerWire.readInvoke(bytes(json.replace("\"ephemeralStorageMb\":1024,", ""))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ephemeralStorageMb");
        assertThatThrownBy(() -> WorkerWire.readInvoke(bytes("{\"requestId\":")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("InvokeRequest");
        assertThatThrownBy(() -> WorkerWire.readInvoke(new byte[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the body is empty");
    }

    @Test
    void shouldAnswerACompletedInvocationAsASuccess() {
        assertThat(WorkerWire.writeResult(new InvocationEnd.Completed(false, bytes("\"ok\""), "log\n")))
                .isEqualTo(new InvokeResult.Success(new Payload(bytes("\"ok\"")), "log\n"));
    }

    @Test
    void shouldAnswerAFunctionErrorAsUnhandled() {
        assertThat(WorkerWire.writeResult(new InvocationEnd.Completed(true, bytes("{}"), "")))
                .isEqualTo(new InvokeResult.FunctionError("Unhandled", new Payload(bytes("{}")), ""));
    }

    @Test
    void shouldAnswerAnInitFailureAsAnUnhandledFunctionError() {
        assertThat(WorkerWire.writeResult(new InvocationEnd.InitFailed(bytes("{}"), "init\n")))
                .isEqualTo(new InvokeResult.FunctionError("Unhandled", new Payload(bytes("{}")), "init\n"));
    }

    @Test
    void shouldAnswerAServiceErrorWithLambdasTypeAndStatus() {
        InvokeResult result = WorkerWire.writeResult(new InvocationEnd.Failed("EC2ThrottledException", 502, "Rate exceeded"));

        assertThat(result).isEqualTo(new InvokeResult.ServiceError("EC2ThrottledException", 502, "Rate exceeded"));
        assertThat(FleetJson.encode(result))
                .isEqualTo("{\"outcome\":\"error\",\"errorType\":\"EC2ThrottledException\",\"status\":502,\"message\":\"Rate exceeded\"}");
    }

    @Test
    void shouldReadAnEvictionAsTheFunctionsKeyPrefix() {
        assertThat(WorkerWire.readEvictedFunction(bytes("{\"accountId\":\"123456789012\",\"functionName\":\"fn\"}"))).isEqualTo("123456789012/fn/");
        assertThat(WorkerWire.writeEvicted(2)).isEqualTo(new Evicted(2));
    }

    @Test
    void shouldRefuseAnEvictionWithoutAFunctionName() {
        assertThatThrownBy(() -> WorkerWire.readEvictedFunction(bytes("{\"accountId\":\"123456789012\"}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("functionName");
    }
}
