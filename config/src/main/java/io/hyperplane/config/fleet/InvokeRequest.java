package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One invocation as the control plane hands it to a worker ({@code POST /invoke}): the function
 * version's configuration and the event. Answered with an {@link InvokeResult}.
 *
 * @param functionArn        as the function sees it (qualified unless $LATEST)
 * @param handler            null for runtimes that take none
 * @param ephemeralStorageMb the size of the function's /tmp (Lambda's EphemeralStorage)
 * @param environment        the function's environment variables, in the order they were given
 * @param subnets            the subnets the function runs in, each with its Hyperplane ENI; empty outside a VPC, where the
 *                           function leaves by the service's egress (config.fabric.Internet)
 * @param nameserver         what the function's /etc/resolv.conf names: its VPC's AmazonProvidedDNS (the VPC's base address
 *                           + 2), or outside a VPC the service's resolver
 * @param clientContext      the X-Amz-Client-Context header, decoded; null when the caller sent none
 */
public record InvokeRequest(String requestId, String accountId, String region, String functionName, String version, String functionArn,
                            String runtime, String handler,
                            @JsonProperty(required = true) int memoryMb,
                            @JsonProperty(required = true) int timeoutSeconds,
                            @JsonProperty(required = true) int ephemeralStorageMb,
                            String codeSha256, String revisionId, Map<String, String> environment, List<Subnet> subnets,
                            String nameserver, String clientContext, Payload payload) {
    private static final String MESSAGE = "invoke request";

    public InvokeRequest {
        Check.text(requestId, MESSAGE, "requestId");
        Check.text(accountId, MESSAGE, "accountId");
        Check.text(region, MESSAGE, "region");
        Check.text(functionName, MESSAGE, "functionName");
        Check.text(version, MESSAGE, "version");
        Check.text(functionArn, MESSAGE, "functionArn");
        Check.text(runtime, MESSAGE, "runtime");
        Check.atLeast(memoryMb, 1, MESSAGE, "memoryMb");
        Check.atLeast(timeoutSeconds, 1, MESSAGE, "timeoutSeconds");
        Check.atLeast(ephemeralStorageMb, 1, MESSAGE, "ephemeralStorageMb");
        Check.text(codeSha256, MESSAGE, "codeSha256");
        Check.text(revisionId, MESSAGE, "revisionId");
        Check.present(environment, MESSAGE, "environment");
        environment.forEach((name, value) -> Check.present(value, MESSAGE, "environment variable " + name));
        environment = Collections.unmodifiableMap(new LinkedHashMap<>(environment));
        subnets = Check.list(subnets, MESSAGE, "subnets");
        Check.ipv4(nameserver, MESSAGE, "nameserver");
        Check.present(payload, MESSAGE, "payload");
    }

    /** A subnet the function runs in, and its Hyperplane ENI there. */
    public record Subnet(String subnetId, String eniId, List<String> securityGroupIds) {
        private static final String MESSAGE = "invoke request subnet";

        public Subnet {
            Check.text(subnetId, MESSAGE, "subnetId");
            Check.text(eniId, MESSAGE, "eniId");
            securityGroupIds = Check.list(securityGroupIds, MESSAGE, "securityGroupIds");
        }
    }

    public boolean inVpc() {
        return !subnets.isEmpty();
    }
}
