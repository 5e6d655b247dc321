package io.hyperplane.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The uids a worker still leases (the worker's UidLeases files under /run/hyperplane/uids). */
final class UidLeaseFiles {
    private static final Path DIR = Path.of("/run/hyperplane/uids");

    private UidLeaseFiles() {
    }

    static List<String> held(String worker) throws IOException {
        List<String> held = new ArrayList<>();
        if (!Files.isDirectory(DIR)) {
            return held;
        }
        try (Stream<Path> leases = Files.list(DIR)) {
            for (Path lease : leases.toList()) {
                if (Files.readString(lease, StandardCharsets.UTF_8).equals(worker)) {
                    held.add(lease.getFileName().toString());
                }
            }
        }
        return held;
    }
}
