package io.hyperplane.runtime;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * What the worker does for one execution environment, minus namespaces and users: a Runtime API on
 * loopback and the runtime process started from a {@link LaunchSpec}, its output to this test's.
 */
final class FakeEnvironment implements AutoCloseable {

    static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:test-fn";

    final RuntimeApiServer api;
    final Process process;
    final long startedNanos = System.nanoTime();

    private FakeEnvironment(RuntimeApiServer api, Process process) {
        this.api = api;
        this.process = process;
    }

    static FakeEnvironment start(LaunchSpec spec, Path taskRoot) throws IOException {
        RuntimeApiServer api = RuntimeApiServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        ProcessBuilder builder = new ProcessBuilder(spec.command()).directory(taskRoot.toFile()).inheritIO();
        builder.environment().putAll(spec.extraEnvironment());
        builder.environment().put("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + api.address().getPort());
        builder.environment().put("AWS_LAMBDA_FUNCTION_NAME", "test-fn");
        builder.environment().put("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
        builder.environment().put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test-fn");
        builder.environment().put("AWS_LAMBDA_LOG_STREAM_NAME", "2024/01/01/[$LATEST]0123456789abcdef");
        builder.environment().put("AWS_REGION", "us-east-1");
        try {
            return new FakeEnvironment(api, builder.start());
        } catch (IOException e) {
            api.close();
            throw e;
        }
    }

    InitOutcome awaitInit(String label) throws InterruptedException {
        InitOutcome outcome = api.awaitInit(Duration.ofSeconds(60));
        api.initDoneNanos().ifPresent(done -> System.out.printf("%s: init took %.1f ms%n", label, (done - startedNanos) / 1e6));
        return outcome;
    }

    InvocationOutcome invoke(String event) throws Exception {
        Invocation invocation = new Invocation(UUID.randomUUID().toString(), event.getBytes(StandardCharsets.UTF_8),
                System.currentTimeMillis() + 60_000, ARN, "Root=1-65a1b2c3-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0",
                null, null);
        return api.invoke(invocation).get(60, TimeUnit.SECONDS);
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static Path write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, content);
    }

    @Override
    public void close() {
        // The process first, so that it does not log the Runtime API going away.
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            api.close();
        }
    }
}
