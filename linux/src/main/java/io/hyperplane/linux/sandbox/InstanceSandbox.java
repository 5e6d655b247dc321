package io.hyperplane.linux.sandbox;

import io.hyperplane.linux.PrivateFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An instance's sandbox: its UserData, and everything that starts, run as root of the instance,
 * not of the host. As for functions ({@link Sandbox}), bubblewrap gives it mount, PID, IPC, UTS and
 * cgroup namespaces of its own (the network namespace is the instance's) and {@link SyscallFilter}
 * applies; unlike functions, it may install software, so its root filesystem is copy-on-write:
 *
 * <pre>
 *   /usr                 overlay: the host's /usr read-only below, the instance's own layer above
 *   /etc                 overlay: a sanitised copy of the host's /etc below (no password hashes,
 *                        no host keys), the instance's own layer above
 *   /var                 the instance's own, with overlays of the host's package state (dpkg, apt,
 *                        debconf) so that apt-get and dpkg work as on a fresh machine
 *   /root                the instance's own
 *   /tmp, /run, /dev/shm private tmpfs;  /proc its own;  /dev minimal
 *   image paths          read-only at their own paths: the software the lab's images carry (the
 *                        JVM and the hyperplane distribution, for the lab's service host)
 * </pre>
 *
 * The upper layers live on a tmpfs of {@code layerBytes} mounted over {@code dir} (the instance's
 * state directory) in a mount namespace of the instance's own (made by {@code unshare --mount}
 * before bubblewrap), as are the overlays: all of it vanishes with the instance's last process,
 * nothing is mounted on the host, and one instance cannot fill the host's /run. Its /tmp, /run and
 * /dev/shm are bounded tmpfs too. The namespace is a slave of the host's, so the host's later
 * unmounts reach it: an {@code ip netns delete} of another namespace leaves no copy of it alive here.
 *
 * <p>Its /etc/resolv.conf names {@code nameserver}, the VPC's resolver (base + 2), as an EC2
 * instance's does; written into the instance's own /etc layer, so the instance may change it.
 *
 * <p>Root inside keeps only the capabilities a server needs to install and start software (Docker's
 * default set without MKNOD: no device nodes onto the host's disks) and none that administer the
 * machine or the network: without CAP_NET_ADMIN it cannot remove its own security group (nftables
 * in its namespace) or change its addresses; without CAP_SYS_ADMIN it mounts nothing.
 */
public record InstanceSandbox(String hostname, Path dir, Path etcImage, String networkNamespace, Path userData, List<Path> imagePaths,
                              long tmpBytes, long layerBytes, List<Path> cgroupProcs, String nameserver) {

    /**
     * What root in an instance keeps: Docker's default capability set less CAP_MKNOD (device nodes
     * onto the host's disks) and CAP_NET_RAW (packet sockets pass the instance's own security group
     * and can forge its neighbours' addresses; ping works through ping sockets instead).
     */
    static final List<String> CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");
    /** Host package state under /var that apt and dpkg read and write: overlays, so an install changes only the instance. */
    static final List<String> PACKAGE_STATE = List.of("lib/dpkg", "lib/apt", "cache/apt"); // not debconf: the host's passwords.dat
    /** Under /etc: what may hold the host's secrets, left out of the image (password hashes are locked besides). */
    static final List<String> ETC_SECRETS = List.of("ssh", "ssl/private", "mysql/debian.cnf", "apt/auth.conf", "apt/auth.conf.d",
            "wireguard", "letsencrypt", "NetworkManager/system-connections", "krb5.keytab", "ipsec.secrets", "ppp/chap-secrets",
            "ppp/pap-secrets", "hyperplane", "docker", "containerd");
    /** Where cloud-init keeps UserData on EC2; ours is read-only there. */
    public static final String USER_DATA_PATH = "/var/lib/cloud/instance/user-data.txt";
    private static final int SECCOMP_FD = 9;
    /** How much of an instance's output its log keeps. */
    static final long LOG_BYTES = 16L * 1024 * 1024;
    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public InstanceSandbox {
        if (hostname == null || !hostname.matches("[a-zA-Z0-9.-]{1,63}")) {
            throw new IllegalArgumentException("hostname '" + hostname + "': 1-63 letters, digits, dots or dashes");
        }
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(etcImage, "etcImage");
        if (networkNamespace == null || !networkNamespace.matches("[a-zA-Z0-9_.-]{1,64}")) {
            throw new IllegalArgumentException("network namespace '" + networkNamespace + "': letters, digits, '_', '.', '-'");
        }
        Objects.requireNonNull(userData, "userData");
        imagePaths = List.copyOf(imagePaths);
        cgroupProcs = List.copyOf(cgroupProcs);
        if (tmpBytes < 1024 * 1024) {
            throw new IllegalArgumentException("tmpBytes " + tmpBytes + ": at least 1 MiB");
        }
        if (nameserver == null || !nameserver.matches("(\\d{1,3}\\.){3}\\d{1,3}")) {
            throw new IllegalArgumentException("nameserver '" + nameserver + "': an IPv4 address");
        }
        if (layerBytes < 64 * 1024 * 1024) {
            throw new IllegalArgumentException("layerBytes " + layerBytes + ": at least 64 MiB (an instance's own files live there)");
        }
    }

    /**
     * Makes {@code image} a copy of the host's /etc an instance may see: every password hash
     * locked, and nothing of {@link #ETC_SECRETS} (SSH keys, private TLS keys, stored credentials). Instances share it, read-only, below their own
     * layers.
     */
    public static void makeEtcImage(Path image) throws IOException, InterruptedException {
        Path partial = image.resolveSibling(image.getFileName() + ".partial");
        delete(partial);
        Process copy = new ProcessBuilder("cp", "-a", "/etc", partial.toString()).redirectErrorStream(true).start();
        String output = new String(copy.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (copy.waitFor() != 0) {
            throw new IOException("copying /etc for instances: " + output.strip());
        }
        for (String file : List.of("shadow", "shadow-", "gshadow", "gshadow-")) {
            Path f = partial.resolve(file);
            if (Files.isRegularFile(f)) {
                StringBuilder locked = new StringBuilder();
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    String[] fields = line.split(":", -1);
                    if (fields.length > 1) {
                        fields[1] = "*"; // no password: neither the host's hashes nor a way in
                    }
                    locked.append(String.join(":", fields)).append('\n');
                }
                Files.writeString(f, locked.toString(), StandardCharsets.UTF_8);
            }
        }
        for (String secret : ETC_SECRETS) {
            Path p = partial.resolve(secret);
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                delete(p);
            }
        }
        Files.move(partial, image);
    }

    /**
     * Removes an instance's (or an image's) files: rm stays on this file system and never follows a
     * link the instance planted.
     */
    public static void delete(Path path) throws IOException, InterruptedException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            Process rm = new ProcessBuilder("rm", "-rf", "--one-file-system", "--", path.toString()).redirectErrorStream(true).start();
            rm.getInputStream().readAllBytes();
            rm.waitFor();
        }
    }

    /**
     * The command that boots the instance: a root shell (give it a fixed environment and / as its
     * working directory) makes the instance's layers, mounts the overlays in a mount namespace of
     * its own, enters the instance's network namespace and becomes bubblewrap, which runs the
     * UserData with {@code /bin/sh} as the instance's root.
     */
    public List<String> launchCommand(Path filter) throws IOException {
        PrivateFiles.createDirectories(dir, dir.getParent());
        StringBuilder script = new StringBuilder("set -e\n");
        // Into the instance's cgroups first: its memory (tmpfs pages included) and processes are bounded from here on.
        script.append(Sandbox.joinCgroups(cgroupProcs)).append('\n');
        // The instance's layers: a tmpfs of its own, bounded, mounted in its mount namespace only, so that one
        // instance cannot fill the host's /run and its files vanish with it.
        script.append("mount -t tmpfs -o ").append(Sandbox.quote("size=" + layerBytes + ",mode=0700,nosuid,nodev")).append(" hp-instance ")
                .append(Sandbox.quote(dir.toString())).append('\n');
        List<String[]> overlays = new ArrayList<>();
        overlays.add(new String[] {"/usr", "usr"});
        overlays.add(new String[] {etcImage.toString(), "etc"});
        for (String state : PACKAGE_STATE) {
            overlays.add(new String[] {"/var/" + state, "var-" + state.replace('/', '-')});
        }
        for (String[] o : overlays) {
            String upper = dir.resolve("upper").resolve(o[1]).toString();
            String work = dir.resolve("work").resolve(o[1]).toString();
            String merged = dir.resolve("merged").resolve(o[1]).toString();
            script.append("mkdir -p ").append(Sandbox.quote(upper)).append(' ').append(Sandbox.quote(work)).append(' ').append(Sandbox.quote(merged)).append('\n');
            script.append("[ -d ").append(Sandbox.quote(o[0])).append(" ] && mount -t overlay overlay -o ")
                    .append(Sandbox.quote("lowerdir=" + o[0] + ",upperdir=" + upper + ",workdir=" + work)).append(' ').append(Sandbox.quote(merged)).append('\n');
        }
        // The resolver, in the instance's own /etc layer (the image's may be a link to a host's stub resolver).
        Path resolvConf = dir.resolve("merged").resolve("etc").resolve("resolv.conf");
        script.append("rm -f ").append(Sandbox.quote(resolvConf.toString())).append(" && printf 'nameserver %s\\n' ")
                .append(Sandbox.quote(nameserver)).append(" > ").append(Sandbox.quote(resolvConf.toString())).append('\n');
        Path var = dir.resolve("var");
        script.append("mkdir -p ").append(Sandbox.quote(var + "/lib")).append(' ').append(Sandbox.quote(var + "/log")).append(' ').append(Sandbox.quote(var + "/cache"))
                .append(' ').append(Sandbox.quote(var + "/spool")).append(' ').append(Sandbox.quote(var + "/tmp")).append(' ').append(Sandbox.quote(dir.resolve("root").toString()))
                .append('\n');
        script.append("chmod 1777 ").append(Sandbox.quote(var + "/tmp")).append(" && chmod 0700 ").append(Sandbox.quote(dir.resolve("root").toString())).append('\n');
        script.append("[ -e ").append(Sandbox.quote(var + "/run")).append(" ] || ln -s /run ").append(Sandbox.quote(var + "/run")).append('\n');
        script.append("[ -e ").append(Sandbox.quote(var + "/lock")).append(" ] || ln -s /run/lock ").append(Sandbox.quote(var + "/lock")).append('\n');
        // Its output goes to the caller's log through a bounded pipe: an instance that writes without end fills no
        // host file system (the rest is read and dropped, so the instance never blocks on it); unbuffered, so the log is
        // current while the instance runs (waiting for a server to say it is ready, say).
        script.append("\"$@\" ").append(SECCOMP_FD).append('<').append(Sandbox.quote(filter.toString())).append(" 2>&1 | { stdbuf -o0 head -c ").append(LOG_BYTES)
                .append("; cat > /dev/null; }\n");

        List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "slave", "/bin/sh", "-c", script.toString(),
                "instance", "nsenter", "--net=/run/netns/" + networkNamespace, "bwrap"));
        command.addAll(arguments());
        return command;
    }

    List<String> arguments() {
        Path merged = dir.resolve("merged");
        List<String> a = new ArrayList<>();
        a.addAll(List.of("--bind", merged.resolve("usr").toString(), "/usr"));
        if (Files.isDirectory(Path.of("/usr/local"))) {
            a.addAll(List.of("--tmpfs", "/usr/local")); // the machine's own tools are not in the image
        }
        Sandbox.systemDirs(a);
        a.addAll(List.of("--bind", merged.resolve("etc").toString(), "/etc"));
        a.addAll(List.of("--bind", dir.resolve("var").toString(), "/var"));
        for (String state : PACKAGE_STATE) {
            Path m = merged.resolve("var-" + state.replace('/', '-'));
            a.addAll(List.of("--bind-try", m.toString(), "/var/" + state));
        }
        a.addAll(List.of("--ro-bind", userData.toString(), USER_DATA_PATH));
        a.addAll(List.of("--bind", dir.resolve("root").toString(), "/root"));
        a.addAll(List.of("--perms", "1777", "--size", Long.toString(tmpBytes), "--tmpfs", "/tmp"));
        a.addAll(List.of("--perms", "0755", "--size", Long.toString(tmpBytes), "--tmpfs", "/run", "--perms", "1777", "--dir", "/run/lock"));
        a.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", Long.toString(tmpBytes), "--tmpfs", "/dev/shm"));
        Sandbox.maskProc(a);
        for (Path image : imagePaths) {
            a.addAll(List.of("--ro-bind-try", image.toString(), image.toString()));
        }
        a.addAll(List.of("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", hostname));
        a.addAll(List.of("--cap-drop", "ALL"));
        for (String cap : CAPABILITIES) {
            a.addAll(List.of("--cap-add", cap));
        }
        a.addAll(List.of("--seccomp", Integer.toString(SECCOMP_FD), "--new-session", "--chdir", "/root", "--clearenv",
                "--setenv", "PATH", PATH, "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8", "--",
                "/bin/sh", USER_DATA_PATH));
        return a;
    }

}
