package io.hyperplane.worker;

import io.hyperplane.packet.Ipv4Address;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How a worker is started. {@code hostNamespace} is the namespace that has the worker host's
 * underlay interface ({@code hp-ul0}, address {@code underlayIp}): VXLAN devices are created there
 * and moved into each environment, so the underlay socket never is inside one.
 */
public record WorkerSettings(String name, URI control, String token, String hostNamespace, String underlayIp, Path stateDir,
                             NetworkModel networkModel, Duration idleTimeout, int firstUid, Duration initTimeout, int readySlots) {
    /** The 2019 shared-ENI model, or the pre-2019 model with one ENI per environment. */
    public enum NetworkModel {
        SHARED, LEGACY;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static NetworkModel parse(String text) {
            return switch (text) {
                case "shared" -> SHARED;
                case "legacy" -> LEGACY;
                default -> throw new IllegalArgumentException("network model '" + text + "': expected shared or legacy");
            };
        }
    }

    /**
     * Where environments' files live: a path every function user can traverse (a state directory
     * may sit under a private one, such as a temp directory), on tmpfs, gone after a reboot.
     */
    public Path environmentsRoot() {
        return Path.of("/run/hyperplane/environments", name);
    }

    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /**
     * Function processes run as 1,000,000,000 + n: far from system users, nobody (65534), systemd's
     * dynamic users (61184-65519) and the subordinate ranges of /etc/subuid, below 2^31 for tools
     * that keep uids signed.
     */
    public static final int DEFAULT_FIRST_UID = 1_000_000_000;
    public static final Duration DEFAULT_INIT_TIMEOUT = Duration.ofSeconds(10); // Lambda's init phase limit
    public static final int DEFAULT_READY_SLOTS = 16; // networks prepared ahead: a namespace and a tunnel each, a few KB of kernel memory

    public WorkerSettings {
        Objects.requireNonNull(control, "control: required (--control URL)");
        if (name == null || !name.matches("[a-z0-9]{1,8}")) {
            throw new IllegalArgumentException("worker name '" + name + "': use 1-8 lowercase letters or digits (it is part of namespace names)");
        }
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("token: required (--token-file FILE, the server's DIR/node-token)");
        }
        Objects.requireNonNull(hostNamespace, "host namespace: required (--netns NAME)");
        Ipv4Address.parse(underlayIp);
        Objects.requireNonNull(stateDir, "state dir: required");
        if (readySlots < 0) {
            throw new IllegalArgumentException("ready slots " + readySlots + ": must be >= 0");
        }
    }
}
