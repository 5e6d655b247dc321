package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Objects;

import static io.hyperplane.control.lambda.LambdaConstraints.EPHEMERAL_STORAGE;
import static io.hyperplane.control.lambda.LambdaConstraints.MEMORY;
import static io.hyperplane.control.lambda.LambdaConstraints.TIMEOUT;

/**
 * UpdateFunctionConfiguration's request: a null member is one not given, which keeps what
 * $LATEST has. Environment and VpcConfig may be given as null to remove them, hence their flags;
 * a Description given as null clears it.
 */
record UpdateConfigurationRequest(String role, String runtime, String handler, Integer timeout, Integer memorySize, Integer ephemeralStorage,
                                  boolean environmentGiven, Map<String, String> environment, String description, boolean vpcConfigGiven,
                                  VpcConfigRequest vpcConfig, String revisionId) {
    UpdateConfigurationRequest {
        if (role != null) {
            LambdaConstraints.role(role);
        }
        if (runtime != null) {
            LambdaConstraints.runtime(runtime);
        }
        LambdaConstraints.environment(environment);
        LambdaConstraints.description(description);
        EPHEMERAL_STORAGE.check(ephemeralStorage);
        if (handler != null) {
            LambdaConstraints.handlerForm(handler);
        }
        TIMEOUT.check(timeout);
        MEMORY.check(memorySize);
    }

    static UpdateConfigurationRequest from(JsonNode body) {
        return new UpdateConfigurationRequest(JsonFields.text(body, "Role"), JsonFields.text(body, "Runtime"), JsonFields.text(body, "Handler"),
                TIMEOUT.read(body, "Timeout"), MEMORY.read(body, "MemorySize"), CreateFunctionRequest.ephemeralStorage(body),
                body.has("Environment"), JsonFields.variables(body.get("Environment")),
                body.has("Description") ? Objects.requireNonNullElse(JsonFields.text(body, "Description"), "") : null,
                body.has("VpcConfig"), VpcConfigRequest.from(body.get("VpcConfig")), JsonFields.text(body, "RevisionId"));
    }
}
