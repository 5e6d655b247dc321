package io.hyperplane.worker;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The environment a function's process gets: its own variables and Lambda's reserved ones, which win. */
class LambdaVariablesTest {
    @Test
    void shouldGiveTheFunctionLambdasVariablesOverItsOwn() {
        FunctionConfig f = new FunctionConfig("123456789012", "eu-west-1", "fn", "7", "python3.12", "app.handler", 256, 3, 512, "c2hh", "rev-1",
                Map.of("GREETING", "hi", "AWS_REGION", "mars-1", "_HANDLER", "evil.handler"), List.of(), Functions.SERVICE_RESOLVER);

        Map<String, String> env = LambdaVariables.of(f);

        assertThat(env).containsEntry("GREETING", "hi")
                .containsEntry("AWS_REGION", "eu-west-1").containsEntry("AWS_DEFAULT_REGION", "eu-west-1")
                .containsEntry("_HANDLER", "app.handler")
                .containsEntry("AWS_LAMBDA_FUNCTION_NAME", "fn").containsEntry("AWS_LAMBDA_FUNCTION_VERSION", "7")
                .containsEntry("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256").containsEntry("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
                .containsEntry("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn").containsEntry("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
                .containsEntry("LAMBDA_TASK_ROOT", "/var/task").containsEntry("LAMBDA_RUNTIME_DIR", "/var/runtime")
                .containsEntry("HOME", "/tmp").containsEntry("TMPDIR", "/tmp").containsEntry("TZ", ":UTC");
        assertThat(env.get("AWS_LAMBDA_LOG_STREAM_NAME")).matches("\\d{4}/\\d{2}/\\d{2}/\\[7][0-9a-f]{32}");
    }

    @Test
    void shouldGiveAFunctionWithoutAHandlerAnEmptyOne() {
        FunctionConfig f = new FunctionConfig("123456789012", "us-east-1", "fn", "$LATEST", "provided.al2023", null, 128, 3, 512, "c2hh", "rev-1",
                Map.of(), List.of(), Functions.SERVICE_RESOLVER);

        assertThat(LambdaVariables.of(f)).containsEntry("_HANDLER", "");
    }
}
