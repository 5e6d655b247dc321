package io.hyperplane.worker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A function's deployment package (a zip) unpacked into an environment's task directory, which the
 * function sees read-only at /var/task: every file readable by all, executable when the zip says so
 * (and {@code bootstrap} always), directories 755 whatever the worker's umask. Bounded as Lambda
 * bounds it, counting what is actually inflated, never what the zip's headers claim.
 */
final class CodePackage {
    /** Lambda's quota for a deployment package unzipped (250 MB): the control plane refuses more, the worker checks again. */
    static final long MAX_CODE_BYTES = 262_144_000L;
    /** Files in one package: far more than any real function has, few enough that unpacking stays cheap. */
    static final int MAX_CODE_ENTRIES = 100_000;
    private static final int COPY_CHUNK = 64 * 1024;

    private final long maxBytes;
    private final int maxEntries;

    CodePackage(long maxBytes, int maxEntries) {
        if (maxBytes <= 0 || maxEntries <= 0) {
            throw new IllegalArgumentException("code limits " + maxBytes + " bytes, " + maxEntries + " entries: must be > 0");
        }
        this.maxBytes = maxBytes;
        this.maxEntries = maxEntries;
    }

    /** Lambda's limits. */
    static CodePackage lambdas() {
        return new CodePackage(MAX_CODE_BYTES, MAX_CODE_ENTRIES);
    }

    /** Unpacks {@code zip} into {@code task} (an empty directory), keeping the zip's Unix permissions (bootstrap must stay executable). */
    void unpack(byte[] zip, Path task) throws IOException {
        Path file = task.getParent().resolve("code.zip");
        Files.write(file, zip);
        long written = 0;
        int entriesSeen = 0;
        try (FileSystem fs = FileSystems.newFileSystem(file, Map.of("enablePosixFileAttributes", "true"))) {
            Path root = fs.getPath("/");
            try (Stream<Path> entries = Files.walk(root)) {
                for (Path entry : (Iterable<Path>) entries::iterator) {
                    if (entry.equals(root)) {
                        continue;
                    }
                    Path target = task.resolve(root.relativize(entry).toString()).normalize();
                    if (!target.startsWith(task)) {
                        throw new IOException("zip entry " + entry + " points outside the task root");
                    }
                    if (Files.isDirectory(entry)) {
                        Files.createDirectories(target);
                        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                        continue;
                    }
                    if (++entriesSeen > maxEntries) {
                        throw new IOException("the code has more than " + maxEntries + " entries");
                    }
                    Files.createDirectories(target.getParent());
                    written = copyWithin(entry, target, written);
                    Set<PosixFilePermission> mode = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                            PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
                    boolean executable;
                    try {
                        executable = Files.getPosixFilePermissions(entry).contains(PosixFilePermission.OWNER_EXECUTE);
                    } catch (UnsupportedOperationException | IOException e) {
                        executable = false;
                    }
                    if (executable || root.relativize(entry).toString().equals("bootstrap")) {
                        mode.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE));
                    }
                    Files.setPosixFilePermissions(target, mode);
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
        // Directories the zip implies without entries of their own were made under the worker's private umask.
        try (Stream<Path> walk = Files.walk(task)) {
            for (Path d : walk.filter(Files::isDirectory).toList()) {
                Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    /** Copies one entry, refusing to write past the byte limit: a zip bomb fills no host file system. */
    private long copyWithin(Path entry, Path target, long written) throws IOException {
        try (InputStream in = Files.newInputStream(entry);
             OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW)) {
            byte[] chunk = new byte[COPY_CHUNK];
            int n;
            while ((n = in.read(chunk)) > 0) {
                written += n;
                if (written > maxBytes) {
                    throw new IOException("the code unzips to more than " + maxBytes + " bytes");
                }
                out.write(chunk, 0, n);
            }
        }
        return written;
    }
}
