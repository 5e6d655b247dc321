package io.hyperplane.worker;

import io.hyperplane.config.fabric.Internet;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The configuration of one function version, as an execution environment is made from it.
 * {@code handler} is null for a function without one (a provided runtime's bootstrap);
 * {@code ephemeralStorageMb} is the size of the function's /tmp (Lambda's EphemeralStorage);
 * {@code subnets} empty: no VpcConfig, so the function leaves by the service's egress;
 * {@code nameserver} is the resolver its /etc/resolv.conf names.
 */
record FunctionConfig(String accountId, String region, String functionName, String version, String runtime, String handler,
                      int memoryMb, int timeoutSeconds, int ephemeralStorageMb, String codeSha256, String revisionId,
                      Map<String, String> environment, List<Subnet> subnets, String nameserver) {

    /** A subnet the function runs in, and its Hyperplane ENI there. */
    record Subnet(String subnetId, String eniId, List<String> securityGroupIds) {
        Subnet {
            Objects.requireNonNull(subnetId, "subnetId");
            Objects.requireNonNull(eniId, "eniId");
            securityGroupIds = List.copyOf(securityGroupIds);
        }
    }

    FunctionConfig {
        Objects.requireNonNull(accountId, "accountId");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(functionName, "functionName");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(runtime, "runtime");
        Objects.requireNonNull(codeSha256, "codeSha256");
        Objects.requireNonNull(revisionId, "revisionId");
        Objects.requireNonNull(nameserver, "nameserver");
        if (memoryMb <= 0 || timeoutSeconds <= 0 || ephemeralStorageMb <= 0) {
            throw new IllegalArgumentException("function " + functionName + ": memory " + memoryMb + " MB, timeout " + timeoutSeconds
                    + " s and /tmp " + ephemeralStorageMb + " MB must all be > 0");
        }
        // The function's variables in the order it gave them (they become its process's environment).
        environment = Collections.unmodifiableMap(new LinkedHashMap<>(environment));
        subnets = List.copyOf(subnets);
    }

    /**
     * Environments are reused only for the same code and configuration of the same version, on the
     * same network: while an update of its VpcConfig is in progress a revision is invoked on the ENIs
     * it had, so an environment made then must not serve it once it runs on others (attached to a VPC,
     * detached from it, or moved): the network is part of the key.
     */
    String environmentKey() {
        return functionPrefix(accountId, functionName) + version + "/" + revisionId + "/"
                + (inVpc() ? String.join(",", subnets.stream().map(Subnet::eniId).sorted().toList()) : Internet.SERVICE_EGRESS_ENI_ID);
    }

    /** What every environment key of the function starts with: a deleted function's environments are found by it. */
    static String functionPrefix(String accountId, String functionName) {
        return accountId + "/" + functionName + "/";
    }

    boolean inVpc() {
        return !subnets.isEmpty();
    }
}
