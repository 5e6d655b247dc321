package io.hyperplane.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/architecture.md draws the modules with an arrow per dependency: the picture a newcomer
 * finds jobs by. It must be the poms' graph, no more and no less, or it misleads.
 */
class ModuleMapTest {
    /** Tests run in the module's directory; the project is its parent. */
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern MODULE = Pattern.compile("<module>([a-z0-9]+)</module>");
    /** One of our modules as a dependency; a test-scoped one (a fixture, a test-jar) is not an arrow between jobs. */
    private static final Pattern DEPENDENCY = Pattern.compile("<dependency>\\s*<groupId>io\\.hyperplane</groupId>\\s*"
            + "<artifactId>hyperplane-([a-z0-9]+)</artifactId>(?:(?!</dependency>).)*?</dependency>", Pattern.DOTALL);
    private static final Pattern ARROW = Pattern.compile("^\\s*([a-z0-9]+) --> ([a-z0-9]+)\\s*$", Pattern.MULTILINE);

    @Test
    void shouldDrawExactlyThePomsDependencies() throws IOException {
        Set<String> modules = matches(MODULE, Files.readString(ROOT.resolve("pom.xml")), "%s");
        assertThat(modules).contains("packet", "control", "worker", "cli", "e2e");
        Set<String> poms = new TreeSet<>();
        for (String module : modules) {
            Matcher m = DEPENDENCY.matcher(Files.readString(ROOT.resolve(module).resolve("pom.xml")));
            while (m.find()) {
                if (!m.group().contains("<scope>test</scope>") && !m.group(1).equals("parent")) {
                    poms.add(module + " --> " + m.group(1));
                }
            }
        }
        String doc = Files.readString(ROOT.resolve("docs/architecture.md"));
        String picture = doc.substring(doc.indexOf("```mermaid"), doc.indexOf("```", doc.indexOf("```mermaid") + 3));
        Set<String> drawn = matches(ARROW, picture, "%s --> %s");

        assertThat(drawn).as("arrows in docs/architecture.md against the poms").isEqualTo(poms);
        Set<String> pictured = new TreeSet<>();
        drawn.forEach(a -> pictured.addAll(Set.of(a.split(" --> "))));
        assertThat(pictured).as("every module is in the picture").isEqualTo(modules);
    }

    private static Set<String> matches(Pattern p, String text, String format) {
        Set<String> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            Object[] groups = new Object[m.groupCount()];
            for (int i = 0; i < groups.length; i++) {
                groups[i] = m.group(i + 1);
            }
            out.add(String.format(format, groups));
        }
        return out;
    }
}
