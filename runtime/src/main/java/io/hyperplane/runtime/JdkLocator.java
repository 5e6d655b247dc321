package io.hyperplane.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the installed JDKs and their feature versions without starting any of them: each JDK home has a
 * {@code release} file ({@code JAVA_VERSION="17.0.15"}). Looks in /usr/lib/jvm, at the home behind
 * {@code /usr/bin/java}, and at the JVM running this code.
 */
final class JdkLocator {

    private static final Pattern JAVA_VERSION = Pattern.compile("^JAVA_VERSION=\"(1\\.)?(\\d+)", Pattern.MULTILINE);

    /** A JDK (or JRE) home and its feature version (17, 21, 25, ...). */
    record Jdk(Path home, int feature) {
        Path java() {
            return home.resolve("bin").resolve("java");
        }
    }

    private final List<Path> candidates;

    JdkLocator(List<Path> candidates) {
        this.candidates = List.copyOf(candidates);
    }

    static JdkLocator system() {
        List<Path> homes = new ArrayList<>();
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> entries = Files.list(jvms)) {
                entries.sorted().forEach(homes::add);
            } catch (IOException unreadable) {
                // Fall through to the other places.
            }
        }
        Path usrBinJava = Path.of("/usr/bin/java");
        if (Files.exists(usrBinJava)) {
            try {
                homes.add(usrBinJava.toRealPath().getParent().getParent());
            } catch (IOException dangling) {
                // A broken alternatives link names no JDK.
            }
        }
        homes.add(Path.of(System.getProperty("java.home")));
        return new JdkLocator(homes);
    }

    /** Every distinct JDK found, newest first. */
    List<Jdk> all() {
        Map<Path, Jdk> byRealHome = new LinkedHashMap<>();
        for (Path home : candidates) {
            try {
                Path real = home.toRealPath();
                Optional<Integer> feature = feature(real);
                if (feature.isPresent() && Files.isExecutable(real.resolve("bin").resolve("java"))) {
                    byRealHome.putIfAbsent(real, new Jdk(real, feature.get()));
                }
            } catch (IOException missing) {
                // Not a JDK home.
            }
        }
        List<Jdk> found = new ArrayList<>(byRealHome.values());
        found.sort(Comparator.comparingInt(Jdk::feature).reversed().thenComparing(jdk -> jdk.home().toString()));
        return found;
    }

    /** The JDK of exactly {@code feature} if installed, else the newest one of at least {@code feature}. */
    Optional<Jdk> exactOrNewer(int feature) {
        List<Jdk> all = all();
        return all.stream().filter(jdk -> jdk.feature() == feature).findFirst()
                .or(() -> all.stream().filter(jdk -> jdk.feature() > feature).findFirst());
    }

    /** The JDK of exactly {@code feature}. */
    Optional<Jdk> exact(int feature) {
        return all().stream().filter(jdk -> jdk.feature() == feature).findFirst();
    }

    private static Optional<Integer> feature(Path home) throws IOException {
        Path release = home.resolve("release");
        if (!Files.isRegularFile(release)) {
            return Optional.empty();
        }
        Matcher m = JAVA_VERSION.matcher(Files.readString(release));
        return m.find() ? Optional.of(Integer.parseInt(m.group(2))) : Optional.empty();
    }
}
