package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One invocation as the control plane hands it over: the function version's configuration and the event.
 * {@code ephemeralStorageMb} is the size of the function's /tmp (Lambda's EphemeralStorage).
 */
record InvokeRequest(String requestId, String accountId, String region, String functionName, String version, String functionArn,
                     String runtime, String handler, int memoryMb, int timeoutSeconds, int ephemeralStorageMb, String codeSha256,
                     String revisionId, Map<String, String> environment, List<Subnet> subnets, String logType, String clientContext,
                     byte[] payload) {
    static final int DEFAULT_EPHEMERAL_STORAGE_MB = 512; // Lambda's default /tmp, for a control plane that does not send one

    /** A subnet the function runs in, and its Hyperplane ENI there. */
    record Subnet(String subnetId, String eniId, List<String> securityGroupIds) {
    }

    static InvokeRequest parse(JsonNode j) {
        Map<String, String> environment = new LinkedHashMap<>();
        j.path("environment").fields().forEachRemaining(e -> environment.put(e.getKey(), e.getValue().asText()));
        List<Subnet> subnets = new ArrayList<>();
        for (JsonNode s : j.path("subnets")) {
            List<String> groups = new ArrayList<>();
            s.path("securityGroupIds").forEach(g -> groups.add(g.asText()));
            subnets.add(new Subnet(s.path("subnetId").asText(), s.path("eniId").asText(), groups));
        }
        return new InvokeRequest(j.path("requestId").asText(), j.path("accountId").asText(), j.path("region").asText(),
                j.path("functionName").asText(), j.path("version").asText(), j.path("functionArn").asText(), j.path("runtime").asText(),
                j.path("handler").isNull() ? null : j.path("handler").asText(null), j.path("memoryMb").asInt(128), j.path("timeoutSeconds").asInt(3),
                j.path("ephemeralStorageMb").asInt(DEFAULT_EPHEMERAL_STORAGE_MB), j.path("codeSha256").asText(), j.path("revisionId").asText(),
                environment, subnets, j.path("logType").asText("None"), j.path("clientContext").asText(null),
                Base64.getDecoder().decode(j.path("payload").asText("")));
    }

    /** Environments are reused only for the same code and configuration of the same version. */
    String environmentKey() {
        return accountId + "/" + functionName + "/" + version + "/" + revisionId;
    }

    boolean inVpc() {
        return !subnets.isEmpty();
    }
}
