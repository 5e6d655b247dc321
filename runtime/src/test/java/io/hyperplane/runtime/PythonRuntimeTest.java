package io.hyperplane.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** python3.12 on the machine's python3 through our bootstrap, as AWS's Python runtime behaves. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PythonRuntimeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String FUNCTION = """
            import json

            def handler(event, context):
                return {
                    "echo": event,
                    "requestId": context.aws_request_id,
                    "functionName": context.function_name,
                    "functionVersion": context.function_version,
                    "memory": context.memory_limit_in_mb,
                    "arn": context.invoked_function_arn,
                    "logGroup": context.log_group_name,
                    "logStream": context.log_stream_name,
                    "remainingPositive": context.get_remaining_time_in_millis() > 0,
                }

            def fail(event, context):
                raise ValueError("bad input: " + json.dumps(event))
            """;

    @Test
    void shouldReturnTheHandlersDictWithAContextAsAws(@TempDir Path dir) throws Exception {
        try (FakeEnvironment env = start(dir, "app.handler")) {
            assertThat(env.awaitInit("python3.12")).isInstanceOf(InitOutcome.Ready.class);
            for (int i = 0; i < 3; i++) {
                InvocationOutcome outcome = env.invoke("{\"k\":" + i + "}");
                assertThat(outcome).isInstanceOf(InvocationOutcome.Success.class);
                JsonNode result = JSON.readTree(((InvocationOutcome.Success) outcome).payload());
                assertThat(result.get("echo").get("k").asInt()).isEqualTo(i);
                assertThat(result.get("requestId").asText()).hasSize(36);
                assertThat(result.get("functionName").asText()).isEqualTo("test-fn");
                assertThat(result.get("functionVersion").asText()).isEqualTo("$LATEST");
                assertThat(result.get("memory").asText()).isEqualTo("256");
                assertThat(result.get("arn").asText()).isEqualTo(FakeEnvironment.ARN);
                assertThat(result.get("logGroup").asText()).isEqualTo("/aws/lambda/test-fn");
                assertThat(result.get("logStream").asText()).contains("[$LATEST]");
                assertThat(result.get("remainingPositive").asBoolean()).isTrue();
            }
        }
    }

    @Test
    void shouldReportARaisedExceptionAsAFunctionErrorNamedAfterItsClass(@TempDir Path dir) throws Exception {
        try (FakeEnvironment env = start(dir, "app.fail")) {
            assertThat(env.awaitInit("python3.12")).isInstanceOf(InitOutcome.Ready.class);
            InvocationOutcome outcome = env.invoke("{\"x\":1}");
            assertThat(outcome).isInstanceOf(InvocationOutcome.FunctionError.class);
            InvocationOutcome.FunctionError error = (InvocationOutcome.FunctionError) outcome;
            assertThat(error.errorType()).isEqualTo("ValueError");
            JsonNode body = JSON.readTree(error.body());
            assertThat(body.get("errorType").asText()).isEqualTo("ValueError");
            assertThat(body.get("errorMessage").asText()).isEqualTo("bad input: {\"x\": 1}");
            assertThat(body.get("stackTrace").isArray()).isTrue();
            assertThat(body.get("stackTrace").toString()).contains("app.py").doesNotContain("bootstrap");
            // The environment survives a function error.
            assertThat(env.invoke("{}")).isInstanceOf(InvocationOutcome.FunctionError.class);
        }
    }

    @Test
    void shouldReportAMissingModuleAsAnImportModuleInitError(@TempDir Path dir) throws Exception {
        try (FakeEnvironment env = start(dir, "missing_module.handler")) {
            InitOutcome outcome = env.awaitInit("python3.12");
            assertThat(outcome).isInstanceOfSatisfying(InitOutcome.InitError.class, e -> {
                assertThat(e.errorType()).isEqualTo("Runtime.ImportModuleError");
                assertThat(e.errorMessage()).isEqualTo("Unable to import module 'missing_module': No module named 'missing_module'");
            });
            assertThat(env.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(env.process.exitValue()).isEqualTo(1);
        }
    }

    @Test
    void shouldReportAMissingHandlerOnInvokeAsAws(@TempDir Path dir) throws Exception {
        try (FakeEnvironment env = start(dir, "app.nope")) {
            assertThat(env.awaitInit("python3.12")).isInstanceOf(InitOutcome.Ready.class);
            assertThat(env.invoke("{}")).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
                assertThat(e.errorType()).isEqualTo("Runtime.HandlerNotFound");
                assertThat(FakeEnvironment.text(e.body())).contains("Handler 'nope' missing on module 'app'");
            });
        }
    }

    private static FakeEnvironment start(Path dir, String handler) throws Exception {
        Path taskRoot = dir.resolve("task");
        FakeEnvironment.write(taskRoot.resolve("app.py"), FUNCTION);
        LaunchSpec spec = Runtimes.launch("python3.12", taskRoot, handler, 256, Files.createDirectories(dir.resolve("tmp")));
        return FakeEnvironment.start(spec, taskRoot);
    }
}
