package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Base64;

/**
 * The one place that knows the JSON the control plane and the worker exchange on the worker's own
 * endpoints: an invocation in ({@link InvokeRequest}), its result out (the {@code outcome} strings
 * "success", "function-error" and "error"), and a deleted function's eviction. Everything else in
 * the worker sees {@link FunctionCall} and {@link InvokeResult}.
 */
final class WorkerWire {
    /** Lambda's X-Amz-Function-Error for an error the function did not handle (the only kind a runtime reports). */
    private static final String UNHANDLED = "Unhandled";

    private WorkerWire() {
    }

    /** {@code POST /invoke}'s body. */
    static FunctionCall readInvoke(JsonNode json) {
        InvokeRequest r = InvokeRequest.parse(json);
        FunctionConfig function = new FunctionConfig(r.accountId(), r.region(), r.functionName(), r.version(), r.runtime(), r.handler(),
                r.memoryMb(), r.timeoutSeconds(), r.ephemeralStorageMb(), r.codeSha256(), r.revisionId(), r.environment(),
                r.subnets().stream().map(s -> new FunctionConfig.Subnet(s.subnetId(), s.eniId(), s.securityGroupIds())).toList());
        return new FunctionCall(r.requestId(), r.functionArn(), r.clientContext(), r.payload(), function);
    }

    /** {@code POST /invoke}'s answer. */
    static ObjectNode writeResult(InvokeResult result) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        switch (result) {
            case InvokeResult.Failed failed -> out.put("outcome", "error").put("errorType", failed.errorType()).put("status", failed.status())
                    .put("message", failed.message());
            case InvokeResult.InitFailed initFailed -> out.put("outcome", "function-error").put("functionError", UNHANDLED)
                    .put("payload", Base64.getEncoder().encodeToString(initFailed.payload())).put("log", initFailed.log()).put("coldStart", true);
            case InvokeResult.Completed completed -> {
                out.put("outcome", completed.functionError() ? "function-error" : "success")
                        .put("payload", Base64.getEncoder().encodeToString(completed.payload())).put("log", completed.log())
                        .put("coldStart", completed.coldStart()).put("environmentId", completed.environmentId());
                if (completed.functionError()) {
                    out.put("functionError", UNHANDLED);
                }
                ColdStartPhases phases = completed.phases();
                if (phases != null) {
                    out.putObject("phases").put("networkAttachMs", phases.networkAttachMs()).put("processStartMs", phases.processStartMs())
                            .put("sandboxMs", phases.sandboxMs()).put("runtimeInitMs", phases.runtimeInitMs());
                }
            }
        }
        return out;
    }

    /** {@code POST /evict}'s body, {@code {"accountId","functionName"}}: the key prefix of the deleted function's environments. */
    static String readEvictedFunction(JsonNode json) {
        return FunctionConfig.functionPrefix(json.path("accountId").asText(), json.path("functionName").asText());
    }

    /** {@code POST /evict}'s answer: how many idle environments ended. */
    static ObjectNode writeEvicted(int ended) {
        return JsonNodeFactory.instance.objectNode().put("ended", ended);
    }
}
