package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Objects;

import static io.hyperplane.control.lambda.LambdaConstraints.DEFAULT_EPHEMERAL_STORAGE;
import static io.hyperplane.control.lambda.LambdaConstraints.DEFAULT_MEMORY;
import static io.hyperplane.control.lambda.LambdaConstraints.DEFAULT_TIMEOUT;
import static io.hyperplane.control.lambda.LambdaConstraints.EPHEMERAL_STORAGE;
import static io.hyperplane.control.lambda.LambdaConstraints.MEMORY;
import static io.hyperplane.control.lambda.LambdaConstraints.TIMEOUT;

/**
 * CreateFunction's request, checked member by member in the order Lambda reports them; defaults
 * filled in (3 s, 128 MB, /tmp 512 MB, no description). {@code environment} null: none given;
 * {@code vpcConfig} null: no VPC.
 */
record CreateFunctionRequest(String functionName, String role, String packageType, String runtime, String handler, FunctionCode code,
                             int timeout, int memorySize, int ephemeralStorage, Map<String, String> environment, String description,
                             boolean publish, VpcConfigRequest vpcConfig) {
    CreateFunctionRequest {
        LambdaConstraints.functionName(functionName);
        LambdaConstraints.role(role);
        LambdaConstraints.packageType(packageType);
        LambdaConstraints.runtime(runtime);
        LambdaConstraints.handler(runtime, handler);
        if (code == null) {
            throw LambdaError.validation("null", "code", "Member must not be null");
        }
        TIMEOUT.check(timeout);
        MEMORY.check(memorySize);
        EPHEMERAL_STORAGE.check(ephemeralStorage);
        LambdaConstraints.environment(environment);
        LambdaConstraints.description(description);
        description = Objects.requireNonNullElse(description, "");
    }

    static CreateFunctionRequest from(JsonNode body) {
        JsonNode code = body.get("Code");
        return new CreateFunctionRequest(JsonFields.text(body, "FunctionName"), JsonFields.text(body, "Role"), JsonFields.text(body, "PackageType"),
                JsonFields.text(body, "Runtime"), JsonFields.text(body, "Handler"), code == null || !code.isObject() ? null : FunctionCode.from(code),
                Objects.requireNonNullElse(TIMEOUT.read(body, "Timeout"), DEFAULT_TIMEOUT),
                Objects.requireNonNullElse(MEMORY.read(body, "MemorySize"), DEFAULT_MEMORY),
                Objects.requireNonNullElse(ephemeralStorage(body), DEFAULT_EPHEMERAL_STORAGE), JsonFields.variables(body.get("Environment")),
                JsonFields.text(body, "Description"), body.path("Publish").asBoolean(false), VpcConfigRequest.from(body.get("VpcConfig")));
    }

    /** EphemeralStorage's Size, or null when the request has no EphemeralStorage. */
    static Integer ephemeralStorage(JsonNode body) {
        JsonNode storage = body.get("EphemeralStorage");
        if (storage == null || storage.isNull()) {
            return null;
        }
        if (!storage.hasNonNull("Size")) { // Size is required in the API model's EphemeralStorage
            throw LambdaError.validation("null", "ephemeralStorage.size", "Member must not be null");
        }
        return EPHEMERAL_STORAGE.read(storage, "Size");
    }
}
