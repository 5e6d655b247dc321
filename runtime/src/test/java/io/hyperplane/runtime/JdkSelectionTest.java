package io.hyperplane.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Which java binary each java runtime gets on this host. */
class JdkSelectionTest {

    @Test
    void shouldRunJava17OnAJdk17AndJava25OnAJdk25(@TempDir Path dir) {
        JdkLocator jdks = JdkLocator.system();
        Optional<JdkLocator.Jdk> jdk17 = jdks.exact(17);
        Optional<JdkLocator.Jdk> jdk25 = jdks.exact(25);
        assumeTrue(jdk17.isPresent() && jdk25.isPresent(), "needs a JDK 17 and a JDK 25 installed");
        assertThat(Runtimes.launch("java17", dir, "a.B::c", 128, dir).command().getFirst()).isEqualTo(jdk17.get().java().toString());
        assertThat(Runtimes.launch("java25", dir, "a.B::c", 128, dir).command().getFirst()).isEqualTo(jdk25.get().java().toString());
        assertThat(Runtimes.launch("java21", dir, "a.B::c", 128, dir).command().getFirst())
                .isEqualTo(jdks.exactOrNewer(21).orElseThrow().java().toString());
        assertThat(Runtimes.launch("java17", dir, "a.B::c", 128, dir).command()).contains("-XX:MaxHeapSize=108m");
    }
}
