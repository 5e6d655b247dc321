package io.hyperplane.worker;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Function versions and calls for tests. */
final class Functions {
    static final String ACCOUNT = "123456789012";
    static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:";
    /** The resolver of a function without a VPC: the service's. */
    static final String SERVICE_RESOLVER = "192.0.2.2";
    /** The resolver of the VPC every test function in a VPC is in (10.0.0.0/16): its base address + 2. */
    static final String VPC_RESOLVER = "10.0.0.2";

    private Functions() {
    }

    /** A function without a VPC. */
    static FunctionConfig function(String name) {
        return new FunctionConfig(ACCOUNT, "us-east-1", name, "$LATEST", "python3.12", "app.handler", 128, 3, 512, "c2hh", "rev-1",
                Map.of("GREETING", "hi"), List.of(), SERVICE_RESOLVER);
    }

    /** A function in the given subnets (each with its Hyperplane ENI). */
    static FunctionConfig inVpc(String name, FunctionConfig.Subnet... subnets) {
        return new FunctionConfig(ACCOUNT, "us-east-1", name, "$LATEST", "python3.12", "app.handler", 128, 3, 512, "c2hh", "rev-1",
                Map.of(), List.of(subnets), VPC_RESOLVER);
    }

    /** {@code f} whose code is {@code code} (its CodeSha256 is the code's). */
    static FunctionConfig withCode(FunctionConfig f, byte[] code) {
        return new FunctionConfig(f.accountId(), f.region(), f.functionName(), f.version(), f.runtime(), f.handler(), f.memoryMb(),
                f.timeoutSeconds(), f.ephemeralStorageMb(), CodeCache.sha256(code), f.revisionId(), f.environment(), f.subnets(), f.nameserver());
    }

    static FunctionConfig.Subnet subnet(String subnetId, String eniId) {
        return new FunctionConfig.Subnet(subnetId, eniId, List.of("sg-1"));
    }

    /** A call of {@code function}; request ids are UUIDs, as the control plane makes them. */
    static FunctionCall call(FunctionConfig function, String requestId) {
        return new FunctionCall(requestId, ARN + function.functionName(), null, "{}".getBytes(StandardCharsets.UTF_8), function);
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
