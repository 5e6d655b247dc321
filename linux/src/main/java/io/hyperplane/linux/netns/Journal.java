package io.hyperplane.linux.netns;

import io.hyperplane.linux.PrivateFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The lab's crash-safety record: every namespace name is appended and forced to disk
 * <em>before</em> the namespace is created, so {@code down} can remove exactly what {@code up}
 * made even when the process that ran {@code up} died half way. Plain text, one entry a line:
 * <pre>
 *   prefix hp-
 *   netns hp-underlay
 *   netns hp-node1
 * </pre>
 */
public final class Journal {
    public static final String FILE_NAME = "journal";
    private static final String PREFIX_ENTRY = "prefix ";
    private static final String NETNS_ENTRY = "netns ";
    private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final Path file;

    private Journal(Path file) {
        this.file = file;
    }

    public static Path file(Path stateDir) {
        return stateDir.resolve(FILE_NAME);
    }

    /** Starts a new journal for a lab with this prefix; fails if one exists. */
    public static Journal create(Path stateDir, String prefix) throws IOException {
        Path file = file(stateDir);
        PrivateFiles.createDirectories(stateDir);
        try (FileChannel channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PrivateFiles.fileMode())) {
            channel.write(ByteBuffer.wrap((PREFIX_ENTRY + prefix + "\n").getBytes(StandardCharsets.UTF_8)));
            channel.force(true);
        }
        return new Journal(file);
    }

    /** The existing journal in {@code stateDir}, or a new one: for owners that converge repeatedly. */
    public static Journal openOrCreate(Path stateDir, String prefix) throws IOException {
        Path file = file(stateDir);
        return Files.isRegularFile(file) ? new Journal(PrivateFiles.restrict(file)) : create(stateDir, prefix);
    }

    /** Records a namespace about to be created; returns only once the entry is on disk. */
    public void recordNamespace(String name) throws IOException {
        if (!NAMESPACE.matcher(name).matches()) {
            throw new IllegalArgumentException("namespace name '" + name + "': not a plain name");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.APPEND, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap((NETNS_ENTRY + name + "\n").getBytes(StandardCharsets.UTF_8)));
            channel.force(true);
        }
    }

    /**
     * What a journal says: the prefix and the namespaces in the order they were recorded. Lines
     * that are not well-formed, or name a namespace outside the prefix, are reported to
     * {@code warnings} and skipped: down must never delete something the lab did not make.
     */
    public static Contents read(Path stateDir, Consumer<String> warnings) throws IOException {
        List<String> lines = Files.readAllLines(file(stateDir), StandardCharsets.UTF_8);
        String prefix = null;
        List<String> namespaces = new ArrayList<>();
        for (String line : lines) {
            if (line.startsWith(PREFIX_ENTRY) && prefix == null) {
                prefix = line.substring(PREFIX_ENTRY.length()).strip();
            } else if (line.startsWith(NETNS_ENTRY) && prefix != null) {
                String name = line.substring(NETNS_ENTRY.length()).strip();
                if (NAMESPACE.matcher(name).matches() && name.startsWith(prefix)) {
                    if (!namespaces.contains(name)) {
                        namespaces.add(name);
                    }
                } else {
                    warnings.accept("journal " + file(stateDir) + ": ignoring '" + line + "' (not a namespace with prefix " + prefix + ")");
                }
            } else if (!line.isBlank()) {
                warnings.accept("journal " + file(stateDir) + ": ignoring malformed line '" + line + "'");
            }
        }
        if (prefix == null || prefix.isEmpty()) {
            throw new IOException("journal " + file(stateDir) + ": no prefix line; refusing to act on it");
        }
        return new Contents(prefix, List.copyOf(namespaces));
    }

    public record Contents(String prefix, List<String> namespaces) {
    }
}
