package io.hyperplane.config.fleet;

import java.util.List;

/**
 * Legacy model: a worker asking for an ENI of an environment's own in the function's subnet
 * ({@code POST /hyperplane/v1/legacy-enis}), created in the cold start's path and rate-limited
 * like EC2's CreateNetworkInterface; answered with {@link LegacyEniCreated}, or refused with a
 * {@link FleetError} carrying Lambda's error type.
 */
public record LegacyEniRequest(String accountId, String functionName, String subnetId, List<String> securityGroupIds) {
    private static final String MESSAGE = "legacy ENI request";

    public LegacyEniRequest {
        Check.text(accountId, MESSAGE, "accountId");
        Check.text(functionName, MESSAGE, "functionName");
        Check.text(subnetId, MESSAGE, "subnetId");
        securityGroupIds = Check.list(securityGroupIds, MESSAGE, "securityGroupIds");
    }
}
