package io.hyperplane.worker;

import io.hyperplane.linux.cgroup.EnvironmentCgroup;
import io.hyperplane.linux.cgroup.TenantCpu;
import io.hyperplane.linux.netns.Journal;
import io.hyperplane.linux.netns.Namespaces;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

/**
 * What a worker leaves on its host, removed: every namespace is journaled before it is made, so a
 * worker killed at any point removes what it left behind when it starts again ({@link #removeAtStart}),
 * and a worker that stops removes whatever was still being prepared ({@link #removeAtStop}). Besides the
 * namespaces: their registrations, the cgroups, uid leases, the CPU group and the environments' files.
 */
final class Leftovers {
    private static final Logger LOG = LoggerFactory.getLogger(Leftovers.class);
    /** How long processes left in a namespace get after SIGTERM before SIGKILL. */
    private static final Duration KILL_GRACE = Duration.ofSeconds(1);

    private Leftovers() {
    }

    /**
     * Kills processes and deletes namespaces, cgroups and files a previous run journaled, and deregisters its
     * environments.
     *
     * @return the highest namespace index the previous run used (0 if none): new namespaces continue the
     *         numbering, so no name of the previous run is reused
     */
    static long removeAtStart(WorkerSettings settings, ControlPlane control, UidLeases uids) throws IOException, InterruptedException {
        long lastIndex = 0;
        if (Files.exists(Journal.file(settings.stateDir()))) {
            List<String> left = Journal.read(settings.stateDir(), warning -> LOG.warn("journal: {}", warning)).namespaces();
            for (String ns : left) {
                try {
                    lastIndex = Math.max(lastIndex, Long.parseLong(ns.substring(ns.lastIndexOf('-') + 1)));
                } catch (NumberFormatException e) {
                    LOG.debug("journal entry {} has no index", ns);
                }
            }
            List<String> existing = left.stream().filter(Namespaces.list()::contains).toList();
            if (!existing.isEmpty()) {
                LOG.info("removing {} environments a previous run left: {}", existing.size(), existing);
                Namespaces.killProcesses(existing, KILL_GRACE);
                existing.forEach(Namespaces::delete);
            }
            for (String ns : left) {
                try {
                    control.deregisterEnvironment(ns);
                } catch (IOException e) {
                    LOG.warn("deregistering {} (left by a previous run): {}", ns, e.getMessage());
                }
            }
            Files.delete(Journal.file(settings.stateDir()));
        }
        removeHostState(settings, uids);
        return lastIndex;
    }

    /**
     * At a stop, after every environment was destroyed: whatever was still being prepared (every namespace this
     * run made is journaled) goes through {@code networks}, then the journal and the host state.
     */
    static void removeAtStop(WorkerSettings settings, NetworkSource networks, UidLeases uids) {
        try {
            List<String> made = Journal.read(settings.stateDir(), warning -> LOG.warn("journal: {}", warning)).namespaces();
            List<String> left = made.stream().filter(Namespaces.list()::contains).toList();
            if (!left.isEmpty()) {
                Namespaces.killProcesses(left, KILL_GRACE);
                left.forEach(namespace -> networks.discard(namespace, null));
            }
            Files.deleteIfExists(Journal.file(settings.stateDir()));
        } catch (IOException e) {
            LOG.warn("removing the journal: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        removeHostState(settings, uids);
    }

    /** The cgroups, uid leases, CPU group and files of this worker's environments (whose processes are gone). */
    private static void removeHostState(WorkerSettings settings, UidLeases uids) {
        EnvironmentCgroup.deleteLeftovers(settings.name());
        uids.releaseLeftovers();
        TenantCpu.delete(settings.name());
        FileTrees.delete(settings.environmentsRoot());
    }
}
