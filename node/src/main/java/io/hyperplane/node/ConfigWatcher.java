package io.hyperplane.node;

import io.hyperplane.config.SnapshotJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.Consumer;

/**
 * Watches the node's config file and hands each new valid version to the forwarding thread.
 * Polls modification time and size (portable, and robust to editors that replace the file); an
 * invalid file is reported and ignored, and the node keeps forwarding on the last good snapshot.
 * Writers should replace the file atomically ({@link SnapshotJson#writeAtomically}).
 */
final class ConfigWatcher implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);

    private final Path file;
    private final long pollMillis;
    private final Consumer<LoadedConfig> accepted;
    private final Runnable rejected;
    private final Runnable everyPoll;
    private volatile boolean running = true;
    private Object lastStamp;
    private long lastVersion = -1;

    /** {@code everyPoll} runs on this thread at each poll: other slow-path sampling for the node. */
    ConfigWatcher(Path file, long pollMillis, Consumer<LoadedConfig> accepted, Runnable rejected, Runnable everyPoll) {
        this.file = file;
        this.pollMillis = pollMillis;
        this.accepted = accepted;
        this.rejected = rejected;
        this.everyPoll = everyPoll;
    }

    /** Loads the file now; throws with a clear message when it is missing or invalid. */
    LoadedConfig loadInitial() throws IOException {
        lastStamp = stamp();
        LoadedConfig loaded = LoadedConfig.of(SnapshotJson.read(file));
        lastVersion = loaded.version();
        return loaded;
    }

    void stop() {
        running = false;
    }

    @Override
    public void run() {
        while (running) {
            try {
                Thread.sleep(pollMillis);
                everyPoll.run();
                Object stamp = stamp();
                if (stamp.equals(lastStamp)) {
                    continue;
                }
                lastStamp = stamp;
                LoadedConfig loaded = LoadedConfig.of(SnapshotJson.read(file));
                accepted.accept(loaded);
                LOG.info("config {} version {} applied ({} ENIs, {} execution environments)", file,
                        loaded.version(), loaded.snapshot().enis().size(), loaded.snapshot().executionEnvironments().size());
                lastVersion = loaded.version();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (NoSuchFileException e) {
                LOG.warn("config {} disappeared; forwarding on version {}", file, lastVersion);
            } catch (IOException | IllegalArgumentException e) {
                rejected.run();
                LOG.warn("config {} rejected, forwarding on version {}: {}", file, lastVersion, e.getMessage());
            }
        }
    }

    private Object stamp() throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return a.lastModifiedTime().toMillis() + ":" + a.size() + ":" + a.fileKey();
    }
}
