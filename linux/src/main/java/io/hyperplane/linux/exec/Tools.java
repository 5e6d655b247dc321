package io.hyperplane.linux.exec;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Finds the external programs the lab needs and says which package to install when one is missing. */
public final class Tools {
    // Root's tools live in sbin, which a non-login PATH may lack.
    private static final List<String> EXTRA_DIRS = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

    private Tools() {
    }

    /** Throws {@link IllegalStateException} listing every missing tool with its install command. */
    public static void require(Tool... tools) {
        List<String> missing = new ArrayList<>();
        Set<String> packages = new LinkedHashSet<>();
        for (Tool tool : tools) {
            if (find(tool).isEmpty()) {
                missing.add(tool.program());
                packages.add(tool.debianPackage());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("missing program" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing)
                    + ": install with 'apt-get install -y " + String.join(" ", packages) + "'");
        }
    }

    public static boolean isAvailable(Tool tool) {
        return find(tool).isPresent();
    }

    /** The program's name if it is on PATH, else its absolute path in sbin; empty when absent. */
    public static Optional<String> find(Tool tool) {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool.program()))) {
                    return Optional.of(tool.program());
                }
            }
        }
        for (String dir : EXTRA_DIRS) {
            Path candidate = Path.of(dir, tool.program());
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate.toString());
            }
        }
        return Optional.empty();
    }

    /** The command word to run a tool with; call {@link #require} first for a clear error. */
    public static String command(Tool tool) {
        return find(tool).orElseGet(tool::program);
    }
}
