package io.hyperplane.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** java21 through AWS's own runtime interface client, with a handler compiled here into a task root. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class JavaRuntimeTest {

    private static final String HANDLER = """
            package example;

            import com.amazonaws.services.lambda.runtime.Context;
            import com.amazonaws.services.lambda.runtime.RequestHandler;
            import java.util.Map;

            public class Hello implements RequestHandler<Map<String, Object>, String> {
                @Override
                public String handleRequest(Map<String, Object> event, Context context) {
                    if (event.containsKey("fail")) {
                        throw new IllegalStateException("asked to fail: " + event.get("fail"));
                    }
                    return "hello " + event.get("name") + " from " + context.getFunctionName()
                            + " request " + context.getAwsRequestId() + " memory " + context.getMemoryLimitInMB()
                            + " tmp " + System.getProperty("java.io.tmpdir");
                }
            }
            """;

    @Test
    void shouldInvokeAHandlerThroughTheOfficialRuntimeInterfaceClient(@TempDir Path dir) throws Exception {
        Path taskRoot = compile(dir);
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        LaunchSpec spec = Runtimes.launch("java21", taskRoot, "example.Hello::handleRequest", 512, tmp);
        assertThat(spec.command()).contains("-XX:MaxHeapSize=435m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + tmp.toAbsolutePath(), "com.amazonaws.services.lambda.runtime.api.client.AWSLambda",
                "example.Hello::handleRequest");
        System.out.println("java21 command: " + String.join(" ", spec.command()));

        try (FakeEnvironment env = FakeEnvironment.start(spec, taskRoot)) {
            assertThat(env.awaitInit("java21")).isInstanceOf(InitOutcome.Ready.class);
            InvocationOutcome outcome = env.invoke("{\"name\":\"lambda\"}");
            assertThat(outcome).isInstanceOfSatisfying(InvocationOutcome.Success.class, s -> assertThat(FakeEnvironment.text(s.payload()))
                    .startsWith("\"hello lambda from test-fn request ")
                    .contains("memory 512")
                    .contains("tmp " + tmp.toAbsolutePath()));
            // A second one on the same (now warm) environment.
            assertThat(env.invoke("{\"name\":\"again\"}")).isInstanceOf(InvocationOutcome.Success.class);

            InvocationOutcome failed = env.invoke("{\"fail\":\"yes\"}");
            assertThat(failed).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
                assertThat(e.errorType()).isEqualTo("java.lang.IllegalStateException");
                assertThat(FakeEnvironment.text(e.body())).contains("asked to fail: yes").contains("stackTrace");
            });
        }
    }

    private static Path compile(Path dir) throws Exception {
        Path sources = dir.resolve("src");
        Path source = FakeEnvironment.write(sources.resolve("example/Hello.java"), HANDLER);
        Path taskRoot = Files.createDirectories(dir.resolve("task"));
        String coreJar = Runtimes.ricClassPath().stream().map(Path::toString)
                .filter(jar -> jar.contains("aws-lambda-java-core")).findFirst().orElseThrow();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int status = javac.run(null, null, errors, "--release", "21", "-cp", coreJar, "-d", taskRoot.toString(), source.toString());
        assertThat(status).as("javac: %s", errors).isZero();
        assertThat(taskRoot.resolve("example" + File.separator + "Hello.class")).exists();
        return taskRoot;
    }
}
