package io.hyperplane.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.hyperplane.linux.PrivateFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The users execution environments run as: one per live environment, unique on the machine across
 * every worker, since two environments with one uid could signal each other's processes or share
 * per-user kernel limits. A lease is a file named after the uid in a machine-wide directory,
 * created exclusively (so two workers never take the same one) and holding the worker's name.
 * It is returned only after the environment's cgroup is empty, and the environment's files live in
 * its own tmpfs or in root-owned directories, so nothing of a uid remains when it is reused.
 */
final class UidLeases {
    private static final Logger LOG = LoggerFactory.getLogger(UidLeases.class);
    /** Machine-wide, on tmpfs: leases do not outlive a reboot, and neither do the processes holding them. */
    static final Path DIR = Path.of("/run/hyperplane/uids");
    /** How many uids environments may use from the first: far more than a machine runs at once. */
    static final int RANGE = 100_000;

    private final String worker;
    private final int first;
    private final Path dir;
    private final AtomicInteger next = new AtomicInteger();

    UidLeases(String worker, int first) {
        this(worker, first, DIR);
    }

    UidLeases(String worker, int first, Path dir) {
        this.worker = worker;
        this.first = first;
        this.dir = dir;
    }

    /** Takes a free uid; throws when all {@link #RANGE} are leased. */
    int acquire() throws IOException {
        if (!Files.isDirectory(dir)) {
            PrivateFiles.createDirectories(dir);
        }
        for (int attempt = 0; attempt < RANGE; attempt++) {
            int uid = first + Math.floorMod(next.getAndIncrement(), RANGE);
            try {
                Files.write(dir.resolve(Integer.toString(uid)), worker.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                return uid;
            } catch (FileAlreadyExistsException taken) {
                // another environment, of this worker or another, holds it
            }
        }
        throw new IOException("no free uid among " + RANGE + " from " + first + " (" + dir + ")");
    }

    /** Returns a uid; its environment's processes must be gone. */
    void release(int uid) {
        try {
            Files.deleteIfExists(dir.resolve(Integer.toString(uid)));
        } catch (IOException e) {
            LOG.warn("releasing uid {}: {}", uid, e.getMessage());
        }
    }

    /** Returns every uid a previous run of this worker held (its environments are gone: their cgroups were emptied). */
    void releaseLeftovers() {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> leases = Files.list(dir)) {
            for (Path lease : leases.toList()) {
                try {
                    if (Files.readString(lease, StandardCharsets.UTF_8).equals(worker)) {
                        Files.deleteIfExists(lease);
                    }
                } catch (IOException e) {
                    LOG.debug("lease {}: {}", lease, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warn("listing {}: {}", dir, e.getMessage());
        }
    }
}
