package io.hyperplane.linux;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * State at rest is private: the system's data directories are 0700 and its files 0600, created so
 * rather than chmod-ed afterwards (a file briefly world-readable is readable). The JDK cannot set a
 * file's mode at creation everywhere (H2, logs and snapshots open their files themselves), so every
 * process of ours runs with umask 077, set once at start, before anything is written; files meant
 * for tenants (a function's code, a runtime's own files) are made readable explicitly.
 */
public final class PrivateFiles {
    /** No access for group and others on anything created. */
    static final int UMASK = 0077;
    private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateFiles() {
    }

    /** Sets this process's umask to 077; children it starts inherit it. */
    @SuppressWarnings("restricted")
    public static void restrictUmask() {
        Linker linker = Linker.nativeLinker();
        MethodHandle umask = linker.downcallHandle(linker.defaultLookup().findOrThrow("umask"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try {
            int previous = (int) umask.invokeExact(UMASK);
        } catch (Throwable t) {
            throw new IllegalStateException("umask(077) failed", t);
        }
    }

    /** The machine-wide root of the system's runtime state: labs' journals, environments, uid leases. */
    public static final Path RUN_ROOT = Path.of("/run/hyperplane");

    /** {@link #createDirectories(Path, Path)} within {@link #RUN_ROOT}. */
    public static Path createDirectories(Path dir) throws IOException {
        return createDirectories(dir, RUN_ROOT);
    }

    /**
     * Creates {@code dir} and its missing parents 0700. Directories of ours that already exist
     * between {@code dir} and {@code ownedRoot} (inclusive) are made 0700 too: an older version, or
     * a process without our umask, may have made them readable to every user.
     */
    public static Path createDirectories(Path dir, Path ownedRoot) throws IOException {
        FileAttribute<Set<PosixFilePermission>> mode = PosixFilePermissions.asFileAttribute(DIRECTORY);
        Files.createDirectories(dir, mode);
        for (Path p = dir.toAbsolutePath(); p != null && p.startsWith(ownedRoot); p = p.getParent()) {
            if (!Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS).equals(DIRECTORY)) {
                Files.setPosixFilePermissions(p, DIRECTORY);
            }
        }
        return dir;
    }

    /**
     * The mode to create a private file with (0600), whatever the process's umask: for files made
     * by code that also runs in processes without ours (tests, tools), such as a lab's journal.
     */
    public static FileAttribute<Set<PosixFilePermission>> fileMode() {
        return PosixFilePermissions.asFileAttribute(FILE);
    }

    /** Makes an existing file of ours 0600: an older version, or a process without our umask, may have made it readable. */
    public static Path restrict(Path file) throws IOException {
        if (!Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS).equals(FILE)) {
            Files.setPosixFilePermissions(file, FILE);
        }
        return file;
    }
}
