package io.hyperplane.worker;

import io.hyperplane.linux.sandbox.Sandbox;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Lambda's environment variables for a function's process: the function's own, then the reserved
 * ones (which win over a function's variable of the same name), as the Lambda developer guide's
 * "Defined runtime environment variables" lists them.
 */
final class LambdaVariables {
    private LambdaVariables() {
    }

    static Map<String, String> of(FunctionConfig f) {
        Map<String, String> env = new LinkedHashMap<>(f.environment());
        env.put("AWS_LAMBDA_FUNCTION_NAME", f.functionName());
        env.put("AWS_LAMBDA_FUNCTION_VERSION", f.version());
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(f.memoryMb()));
        env.put("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + ExecutionEnvironment.RUNTIME_API_PORT);
        env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + f.functionName());
        env.put("AWS_LAMBDA_LOG_STREAM_NAME", LocalDate.now(ZoneOffset.UTC).toString().replace('-', '/') + "/[" + f.version() + "]"
                + UUID.randomUUID().toString().replace("-", ""));
        env.put("AWS_EXECUTION_ENV", "AWS_Lambda_" + f.runtime());
        env.put("_HANDLER", f.handler() == null ? "" : f.handler());
        env.put("LAMBDA_TASK_ROOT", Sandbox.TASK_ROOT.toString());
        env.put("LAMBDA_RUNTIME_DIR", Sandbox.RUNTIME_DIR.toString());
        env.put("AWS_REGION", f.region());
        env.put("AWS_DEFAULT_REGION", f.region());
        env.put("TZ", ":UTC");
        env.put("LANG", "en_US.UTF-8");
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", Sandbox.TMP.toString());
        env.put("TMPDIR", Sandbox.TMP.toString());
        return env;
    }
}
