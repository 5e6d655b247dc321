package io.hyperplane.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** provided.al2023: the function's own bootstrap speaks the Runtime API (here one written in Python, as curl may be missing). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProvidedRuntimeTest {

    /** A custom runtime as AWS's tutorial writes one: loop on /next, echo the event and request id back. */
    private static final String BOOTSTRAP = """
            #!/usr/bin/env python3
            import json, os, urllib.request
            api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
            handler = os.environ["_HANDLER"]
            while True:
                with urllib.request.urlopen(api + "next") as response:
                    request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
                    deadline = response.headers["Lambda-Runtime-Deadline-Ms"]
                    event = json.loads(response.read())
                body = json.dumps({"handler": handler, "requestId": request_id, "deadline": deadline, "event": event}).encode()
                urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
            """;

    @Test
    void shouldCompleteSeveralInvocationsThroughTheFunctionsBootstrap(@TempDir Path dir) throws Exception {
        Path taskRoot = dir.resolve("task");
        Path bootstrap = FakeEnvironment.write(taskRoot.resolve("bootstrap"), BOOTSTRAP);
        Files.setPosixFilePermissions(bootstrap, PosixFilePermissions.fromString("rwxr-xr-x"));
        LaunchSpec spec = Runtimes.launch("provided.al2023", taskRoot, "echo.handler", 128, Files.createDirectory(dir.resolve("tmp")));
        assertThat(spec.command()).containsExactly(bootstrap.toAbsolutePath().toString());

        try (FakeEnvironment env = FakeEnvironment.start(spec, taskRoot)) {
            assertThat(env.awaitInit("provided")).isInstanceOf(InitOutcome.Ready.class);
            for (int i = 0; i < 5; i++) {
                int n = i;
                InvocationOutcome outcome = env.invoke("{\"n\":" + n + "}");
                assertThat(outcome).isInstanceOfSatisfying(InvocationOutcome.Success.class, s -> assertThat(FakeEnvironment.text(s.payload()))
                        .contains("\"handler\": \"echo.handler\"")
                        .contains("\"event\": {\"n\": " + n + "}")
                        .containsPattern("\"requestId\": \"[0-9a-f-]{36}\""));
            }
        }
    }

    @Test
    void shouldReportInvalidEntrypointWhenTheBootstrapIsMissingOrNotExecutable(@TempDir Path dir) throws Exception {
        Path taskRoot = Files.createDirectories(dir.resolve("task"));
        assertThatThrownBy(() -> Runtimes.launch("provided.al2", taskRoot, "h", 128, dir))
                .isInstanceOfSatisfying(RuntimeLaunchException.class, e -> assertThat(e.errorType()).isEqualTo("Runtime.InvalidEntrypoint"))
                .hasMessageContaining("Couldn't find valid bootstrap(s)");
        Files.writeString(taskRoot.resolve("bootstrap"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(taskRoot.resolve("bootstrap"), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> Runtimes.launch("provided", taskRoot, "h", 128, dir))
                .isInstanceOfSatisfying(RuntimeLaunchException.class, e -> assertThat(e.errorType()).isEqualTo("Runtime.InvalidEntrypoint"))
                .hasMessageContaining("permission denied");
    }

    @Test
    void shouldNameTheSupportedRuntimesForAnUnknownOne(@TempDir Path dir) {
        assertThatThrownBy(() -> Runtimes.launch("nodejs20.x", dir, "index.handler", 128, dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nodejs20.x").hasMessageContaining("provided.al2023").hasMessageContaining("python3.12");
    }
}
