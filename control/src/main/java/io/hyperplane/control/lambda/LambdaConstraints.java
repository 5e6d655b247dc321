package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What Lambda's API model (and Lambda's own checks) require of request members, with the
 * messages Lambda answers; the request records call these from their compact constructors.
 */
final class LambdaConstraints {
    static final int MAX_SUBNETS = 16; // Lambda API: VpcConfig.SubnetIds
    static final int MAX_SECURITY_GROUPS = 5; // Lambda API: VpcConfig.SecurityGroupIds
    static final int MAX_DESCRIPTION = 256; // the API model's Description
    static final int MAX_HANDLER = 128; // the API model's Handler
    private static final int MAX_ENVIRONMENT_BYTES = 4096; // Lambda quota: 4 KB of environment variables
    static final Range TIMEOUT = new Range(1, 900, "timeout"); // seconds
    static final Range MEMORY = new Range(128, 10240, "memorySize"); // MB
    static final Range EPHEMERAL_STORAGE = new Range(512, 10240, "ephemeralStorage.size"); // MB of /tmp
    static final int DEFAULT_TIMEOUT = 3;
    static final int DEFAULT_MEMORY = 128;
    static final int DEFAULT_EPHEMERAL_STORAGE = 512; // Lambda's /tmp when a function does not choose one

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
    private static final Pattern ROLE = Pattern.compile("arn:(aws[a-zA-Z-]*)?:iam::(\\d{12}):role/?([a-zA-Z_0-9+=,.@\\-_/]+)");
    private static final Pattern HANDLER = Pattern.compile("[^\\s]+");
    private static final Pattern VARIABLE = Pattern.compile("[a-zA-Z]([a-zA-Z0-9_])+");
    private static final Set<String> RUNTIMES = Set.of("provided.al2023", "provided.al2", "provided", "java25", "java21", "java17", "java11",
            "java8.al2", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10", "python3.9", "nodejs24.x", "nodejs22.x",
            "nodejs20.x", "nodejs18.x", "ruby3.4", "ruby3.3", "ruby3.2", "dotnet8");
    /**
     * Names Lambda sets in every execution environment and refuses in a function's configuration
     * (AWS Lambda developer guide, "Defined runtime environment variables": the reserved ones). The
     * two with a leading underscore never get this far: the API's name pattern refuses them first.
     */
    private static final Set<String> RESERVED_ENVIRONMENT = Set.of("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
            "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR");

    private LambdaConstraints() {
    }

    /** An integer member's bounds and its name in the API model's messages. */
    record Range(int min, int max, String member) {
        /** The member's value, or null when it is absent or null; a value that is no integer is out of range. */
        Integer read(JsonNode node, String field) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                return null;
            }
            if (!value.canConvertToInt()) {
                throw LambdaError.validation(value.asText(), member, "Member must have value less than or equal to " + max);
            }
            return value.asInt();
        }

        void check(Integer value) {
            if (value != null && (value < min || value > max)) {
                throw LambdaError.validation(value.toString(), member, value < min ? "Member must have value greater than or equal to " + min
                        : "Member must have value less than or equal to " + max);
            }
        }
    }

    static void functionName(String name) {
        if (name == null) {
            throw LambdaError.validation("null", "functionName", "Member must not be null");
        }
        if (!NAME.matcher(name).matches()) {
            throw LambdaError.validation(name, "functionName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
        }
    }

    /** A role ARN's form (whether Lambda may assume it is the handler's to ask IAM). */
    static void role(String role) {
        if (role == null) {
            throw LambdaError.validation("null", "role", "Member must not be null");
        }
        roleAccount(role);
    }

    /** The account in a role ARN. */
    static String roleAccount(String role) {
        Matcher m = ROLE.matcher(role);
        if (!m.matches()) {
            throw LambdaError.validation(role, "role", "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
        }
        return m.group(2);
    }

    static void packageType(String packageType) {
        if (packageType != null && !packageType.equals("Zip")) {
            throw LambdaError.invalid("PackageType " + packageType + " is not supported here: only Zip packages are.");
        }
    }

    static void runtime(String runtime) {
        if (runtime == null) {
            throw LambdaError.invalid("Runtime is required for .zip deployment packages.");
        }
        if (!RUNTIMES.contains(runtime)) {
            throw LambdaError.invalid("Value " + runtime + " at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
                    + new TreeSet<>(RUNTIMES) + " or be a valid ARN");
        }
    }

    /** A handler for {@code runtime}: required unless the runtime is an OS-only one (provided*). */
    static void handler(String runtime, String handler) {
        if (handler == null && !runtime.startsWith("provided")) {
            throw LambdaError.invalid("Handler is required for .zip deployment packages.");
        }
        if (handler != null) {
            handlerForm(handler);
        }
    }

    static void handlerForm(String handler) {
        if (handler.length() > MAX_HANDLER || !HANDLER.matcher(handler).matches()) {
            throw LambdaError.validation(handler, "handler", "Member must satisfy regular expression pattern: [^\\s]+");
        }
    }

    /** Environment variables: null is none given; names as the API model allows, none reserved, 4 KB in all. */
    static void environment(Map<String, String> variables) {
        if (variables == null) {
            return;
        }
        for (String name : variables.keySet()) {
            if (!VARIABLE.matcher(name).matches()) {
                throw LambdaError.validation(name, "environment.variables", "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+");
            }
        }
        List<String> reserved = variables.keySet().stream().filter(RESERVED_ENVIRONMENT::contains).toList();
        if (!reserved.isEmpty()) {
            throw LambdaError.invalid("Lambda was unable to configure your environment variables because the environment variables you have provided"
                    + " contains reserved keys that are currently not supported for modification. Reserved keys used in this request: "
                    + String.join(", ", reserved));
        }
        if (JsonFields.utf8Length(variables) > MAX_ENVIRONMENT_BYTES) {
            throw LambdaError.invalid("Lambda was unable to configure your environment variables because the environment variables you have provided"
                    + " exceeded the 4KB limit.");
        }
    }

    static void description(String description) {
        if (description != null && description.length() > MAX_DESCRIPTION) {
            throw LambdaError.validation(description, "description", "Member must have length less than or equal to " + MAX_DESCRIPTION);
        }
    }
}
