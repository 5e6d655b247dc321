package io.hyperplane.control.lambda;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.lambda.VersionStore.Version;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * Lambda's JSON shapes (API 2015-03-31), member for member as Lambda writes them:
 * FunctionConfiguration, GetFunction's answer, list pages, concurrency, and error bodies.
 */
final class LambdaRenderer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final DateTimeFormatter LAST_MODIFIED = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ").withZone(ZoneOffset.UTC);

    private LambdaRenderer() {
    }

    /** FunctionConfiguration. A published version's LastUpdateStatus is always Successful: it never changes. */
    static ObjectNode configuration(String region, String account, Version v, FunctionStatus status) {
        ObjectNode o = NODES.objectNode();
        o.put("FunctionName", v.name());
        o.put("FunctionArn", LambdaApi.arn(region, account, v.name()) + (v.latest() ? "" : ":" + v.version()));
        o.put("Runtime", v.runtime());
        o.put("Role", v.role());
        if (v.handler() != null) {
            o.put("Handler", v.handler());
        }
        o.put("CodeSize", v.codeSize());
        o.put("Description", v.description());
        o.put("Timeout", v.timeout());
        o.put("MemorySize", v.memory());
        o.put("LastModified", LAST_MODIFIED.format(v.lastModified()));
        o.put("CodeSha256", v.codeSha256());
        o.put("Version", v.version());
        if (v.inVpc() || v.vpcId() != null) {
            ObjectNode vpc = o.putObject("VpcConfig");
            ArrayNode subnets = vpc.putArray("SubnetIds");
            v.subnetIds().forEach(subnets::add);
            ArrayNode groups = vpc.putArray("SecurityGroupIds");
            v.securityGroupIds().forEach(groups::add);
            vpc.put("VpcId", v.vpcId());
            vpc.put("Ipv6AllowedForDualStack", false);
        }
        if (v.environment() != null) {
            ObjectNode variables = o.putObject("Environment").putObject("Variables");
            v.environment().forEach(variables::put);
        }
        o.putObject("TracingConfig").put("Mode", "PassThrough");
        o.put("RevisionId", v.revisionId());
        o.put("State", status.state().wire());
        if (status.stateReason() != null) {
            o.put("StateReason", status.stateReason());
        }
        if (status.stateReasonCode() != null) {
            o.put("StateReasonCode", status.stateReasonCode());
        }
        o.put("LastUpdateStatus", v.latest() ? status.lastUpdate().wire() : LastUpdateStatus.SUCCESSFUL.wire());
        if (v.latest() && status.lastUpdateReason() != null) {
            o.put("LastUpdateStatusReason", status.lastUpdateReason());
        }
        if (v.latest() && status.lastUpdateReasonCode() != null) {
            o.put("LastUpdateStatusReasonCode", status.lastUpdateReasonCode());
        }
        o.put("PackageType", "Zip");
        o.putArray("Architectures").add("x86_64");
        o.putObject("EphemeralStorage").put("Size", v.ephemeralStorage());
        o.putObject("SnapStart").put("ApplyOn", "None").put("OptimizationStatus", "Off");
        o.putObject("LoggingConfig").put("LogFormat", "Text").put("LogGroup", "/aws/lambda/" + v.name());
        return o;
    }

    /** GetFunction: the configuration, where the code is, and the reserved concurrency if any. */
    static ObjectNode function(String region, String account, Version v, FunctionStatus status, Integer reservedConcurrency) {
        ObjectNode out = NODES.objectNode();
        out.set("Configuration", configuration(region, account, v, status));
        out.putObject("Code").put("RepositoryType", "S3").put("Location", "hyperplane://functions/" + v.name() + "/" + v.version() + "/code.zip");
        if (reservedConcurrency != null) {
            out.putObject("Concurrency").put("ReservedConcurrentExecutions", reservedConcurrency);
        }
        return out;
    }

    /** One page of {@code items} in {@code member}, with the NextMarker of the next page if there is one. */
    static ObjectNode page(List<ObjectNode> items, ListRequest request, String member) {
        ObjectNode out = NODES.objectNode();
        ArrayNode array = out.putArray(member);
        int end = Math.min(items.size(), request.start() + request.pageSize());
        for (int i = Math.min(request.start(), items.size()); i < end; i++) {
            array.add(items.get(i));
        }
        if (end < items.size()) {
            out.put("NextMarker", ListRequest.markerAt(end));
        }
        return out;
    }

    /** Get/PutFunctionConcurrency: the reservation, or an empty object when there is none. */
    static ObjectNode concurrency(Integer reserved) {
        ObjectNode out = NODES.objectNode();
        if (reserved != null) {
            out.put("ReservedConcurrentExecutions", reserved);
        }
        return out;
    }

    /** An error's body; its type travels in X-Amzn-ErrorType. */
    static ObjectNode error(LambdaError e) {
        return NODES.objectNode().put("Type", e.status() >= 500 ? "Service" : "User").put("message", e.getMessage());
    }

    /** TooManyRequestsException's body for a caller's rate, with the reason Lambda's API model names. */
    static ObjectNode callerRateLimitExceeded() {
        return NODES.objectNode().put("Reason", "CallerRateLimitExceeded").put("Type", "User").put("message", "Rate exceeded.");
    }

    static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
