package io.hyperplane.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** A short run of the sandbox's like-for-like launch measurement: both chains run, and the namespace goes. */
@Timeout(120)
class SandboxLaunchBenchTest {
    @Test
    void shouldMeasureBothLaunchChainsAndLeaveNothing() throws Exception {
        ObjectNode out = SandboxLaunchBench.run("hp-sbt-sandbox", 5);
        assertThat(out.path("bareLaunchMs").path("n").asInt()).isEqualTo(5);
        assertThat(out.path("sandboxedLaunchMs").path("n").asInt()).isEqualTo(5);
        assertThat(out.path("sandboxedLaunchMs").path("p50").asDouble()).isPositive();
        assertThat(out.has("addedP50Ms")).isTrue();
        assertThat(Namespaces.list()).doesNotContain("hp-sbt-sandbox");
    }
}
