package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

import static io.hyperplane.control.lambda.LambdaConstraints.MAX_SECURITY_GROUPS;
import static io.hyperplane.control.lambda.LambdaConstraints.MAX_SUBNETS;

/**
 * A request's VpcConfig: at most 16 subnets and 5 groups, both given or neither (both empty
 * detaches the function from its VPC), IPv4 only. Whether they exist, in one VPC of the caller's,
 * is the handler's to find out.
 */
record VpcConfigRequest(List<String> subnetIds, List<String> securityGroupIds, boolean ipv6AllowedForDualStack) {
    VpcConfigRequest {
        if (subnetIds.size() > MAX_SUBNETS) {
            throw LambdaError.validation(subnetIds.toString(), "vpcConfig.subnetIds", "Member must have length less than or equal to " + MAX_SUBNETS);
        }
        if (securityGroupIds.size() > MAX_SECURITY_GROUPS) {
            throw LambdaError.validation(securityGroupIds.toString(), "vpcConfig.securityGroupIds", "Member must have length less than or equal to "
                    + MAX_SECURITY_GROUPS);
        }
        if (ipv6AllowedForDualStack) {
            throw LambdaError.invalid("Ipv6AllowedForDualStack is not supported: Hyperplane ENIs here are IPv4 only.");
        }
        if (subnetIds.isEmpty() != securityGroupIds.isEmpty()) {
            throw LambdaError.invalid(subnetIds.isEmpty() ? "SubnetIds must be provided when SecurityGroupIds are specified."
                    : "SecurityGroupIds must be provided when SubnetIds are specified.");
        }
        subnetIds = List.copyOf(subnetIds);
        securityGroupIds = List.copyOf(securityGroupIds);
    }

    /** The member, or null when it is absent or null (no VPC). */
    static VpcConfigRequest from(JsonNode vpc) {
        if (vpc == null || vpc.isNull()) {
            return null;
        }
        return new VpcConfigRequest(JsonFields.strings(vpc.get("SubnetIds"), "vpcConfig.subnetIds"),
                JsonFields.strings(vpc.get("SecurityGroupIds"), "vpcConfig.securityGroupIds"), vpc.path("Ipv6AllowedForDualStack").asBoolean(false));
    }

    /** Both lists empty: the function leaves its VPC. */
    boolean detaches() {
        return subnetIds.isEmpty();
    }
}
