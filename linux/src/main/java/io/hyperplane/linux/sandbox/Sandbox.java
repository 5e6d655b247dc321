package io.hyperplane.linux.sandbox;

import io.hyperplane.linux.PrivateFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One tenant process's sandbox, run by bubblewrap as root: mount, PID, IPC, UTS and cgroup
 * namespaces of its own (the network namespace is the caller's: {@code ip netns exec} before
 * bwrap), on a root file system made for it, under {@link SyscallFilter}, as an unprivileged user
 * with no capabilities and no way to gain any.
 *
 * <pre>
 *   /usr, /bin, /lib...   the host's system files, read-only (/usr/local hidden)
 *   /etc                  a few read-only host files the C library and runtimes read (ld.so.cache, ssl, localtime...)
 *                         plus passwd, group, hosts and resolv.conf of its own (read-only: the resolver is its network's)
 *   /var/task             the function's code, read-only            (Lambda's LAMBDA_TASK_ROOT)
 *   /var/runtime          the runtime's own files, read-only         (Lambda's /var/runtime)
 *   /tmp                  a private tmpfs of tmpBytes, mode 1777     (Lambda's EphemeralStorage)
 *   /proc                 its own: only its own processes
 *   /dev                  null, zero, full, random, urandom, tty, a pty
 * </pre>
 *
 * Nothing else of the host exists there: not the system's state directories, not /root, not the
 * host's /tmp, /dev/shm or SysV IPC. The tmpfs lives in the sandbox's mount namespace and goes
 * with its last process; nothing is mounted on the host.
 *
 * <p>The tenant's environment variables reach only the tenant's process. Every step before it
 * runs with a fixed environment: the caller's root shell, bubblewrap ({@code --clearenv}) and
 * setpriv, which is still root and would otherwise load an {@code LD_PRELOAD} of the tenant's. The
 * variables travel in a file that the launching shell opens as descriptor 7; after
 * setpriv, a shell running as the tenant reads them from it, closes it and becomes the tenant's
 * command. No value is ever on a command line, and bubblewrap's options (host paths included)
 * come from a file too ({@code --args}).
 *
 * <p>Why bubblewrap rather than an OCI runtime (crun, runc): it is one small setuid-free binary
 * that starts a sandbox in about a millisecond with no bundle to write, takes a precompiled
 * seccomp program, and leaves network namespaces and cgroups to us, where the worker already
 * manages them (docs/architecture.md, "Sandboxes").
 */
public record Sandbox(String hostname, Path code, Path runtime, long tmpBytes, int uid, Map<String, String> environment,
                      List<String> command, List<Path> readOnlyExtras, String nameserver) {

    /** Where the tenant sees its code, Lambda's LAMBDA_TASK_ROOT. */
    public static final Path TASK_ROOT = Path.of("/var/task");
    /** Where the tenant sees the runtime's files, Lambda's LAMBDA_RUNTIME_DIR. */
    public static final Path RUNTIME_DIR = Path.of("/var/runtime");
    /** The tenant's only writable directory. */
    public static final Path TMP = Path.of("/tmp");
    /** The first line the sandbox writes to standard output, just before the tenant's command starts. */
    public static final String READY_LINE = "hyperplane-sandbox-ready";
    /** The user name Lambda's own environments run functions as. */
    public static final String USER_NAME = "sbx_user1051";

    /** Host files under /etc the C library, python and the JVM read; bound read-only where present. */
    static final List<String> HOST_ETC = List.of("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "host.conf", "gai.conf",
            "localtime", "alternatives", "ssl", "ca-certificates", "ca-certificates.conf", "mime.types", "protocols", "services");
    /** Top-level system directories: merged-/usr systems have them as symlinks into /usr. */
    static final List<String> SYSTEM_DIRS = List.of("bin", "sbin", "lib", "lib64", "lib32", "libx32");

    private static final int ENVIRONMENT_FD = 7; // single digits: dash redirects only descriptors 0-9
    private static final int ARGS_FD = 8;
    private static final int SECCOMP_FD = 9;
    private static final String ARGUMENTS_FILE = "bwrap-args";
    private static final String ENVIRONMENT_FILE = "environment";
    /** The only variable the steps before the tenant's command have. */
    private static final String SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

    public Sandbox {
        if (hostname == null || !hostname.matches("[a-zA-Z0-9.-]{1,63}")) {
            throw new IllegalArgumentException("hostname '" + hostname + "': 1-63 letters, digits, dots or dashes");
        }
        Objects.requireNonNull(code, "code: required");
        if (tmpBytes < 1024 * 1024) {
            throw new IllegalArgumentException("tmpBytes " + tmpBytes + ": at least 1 MiB");
        }
        if (uid <= 0) {
            throw new IllegalArgumentException("uid " + uid + ": a tenant never runs as root");
        }
        environment = Map.copyOf(new LinkedHashMap<>(environment));
        environment.forEach((name, value) -> {
            // Names become shell assignments: letters, digits and underscores only (Lambda's own rule is stricter).
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*") || value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("environment variable '" + name.replace('\0', '?')
                        + "': names are letters, digits and underscores, and no value may contain NUL");
            }
        });
        if (command.isEmpty() || command.stream().anyMatch(word -> word.indexOf('\0') >= 0)) {
            throw new IllegalArgumentException("command: must not be empty or contain NUL");
        }
        command = List.copyOf(command);
        readOnlyExtras = List.copyOf(readOnlyExtras);
        if (nameserver != null && !isIpv4(nameserver)) {
            throw new IllegalArgumentException("nameserver '" + nameserver.replace('\0', '?') + "': must be an IPv4 address (a.b.c.d)");
        }
    }

    /** Dotted-quad IPv4, each part 0-255 without a leading zero: nothing else reaches resolv.conf. */
    private static boolean isIpv4(String text) {
        if (!text.matches("(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}")) {
            return false;
        }
        for (String part : text.split("\\.")) {
            if (Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }

    /**
     * The command that starts the sandbox prepared in {@code dir} ({@link #prepare}): a root shell
     * runs {@code prelude} (trusted shell code of the caller's, such as joining cgroups and setting
     * limits, ending with {@code &&}), opens the prepared files and the compiled {@code filter}, and
     * becomes {@code through} (a command that runs the next one, such as {@code ip netns exec NS};
     * may be empty), which runs bwrap. Everything after the shell code travels as the shell's
     * positional parameters, never as shell code. Run it with a fixed environment and a working
     * directory the tenant does not control.
     */
    public List<String> launchCommand(String prelude, List<String> through, Path dir, Path filter) {
        List<String> words = new ArrayList<>(List.of("/bin/sh", "-c", prelude + "exec \"$@\" " + ARGS_FD + "<" + quote(dir.resolve(ARGUMENTS_FILE).toString())
                + " " + SECCOMP_FD + "<" + quote(filter.toString()) + " " + ENVIRONMENT_FD + "<" + quote(dir.resolve(ENVIRONMENT_FILE).toString()), "sandbox"));
        words.addAll(through);
        words.addAll(List.of("bwrap", "--args", Integer.toString(ARGS_FD), "--seccomp", Integer.toString(SECCOMP_FD), "--"));
        words.addAll(tenantCommand());
        return words;
    }

    /**
     * Writes what the sandbox needs into {@code dir}, the caller's private directory (never the
     * tenant's): bwrap's options, the tenant's variables, and its passwd, group and hosts files, and
     * its resolv.conf naming {@code nameserver} (none without one: names then resolve only from hosts).
     */
    public void prepare(Path dir) throws IOException {
        Path etc = dir.resolve("etc");
        PrivateFiles.createDirectories(etc, dir);
        write(etc.resolve("passwd"), "root:x:0:0:root:/root:/usr/sbin/nologin\n" + USER_NAME + ":x:" + uid + ":" + uid + "::/tmp:/usr/sbin/nologin\n", "rw-r--r--");
        write(etc.resolve("group"), "root:x:0:\n" + USER_NAME + ":x:" + uid + ":\n", "rw-r--r--");
        write(etc.resolve("hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\t" + hostname + "\n", "rw-r--r--");
        if (nameserver != null) {
            write(etc.resolve("resolv.conf"), "nameserver " + nameserver + "\n", "rw-r--r--");
        }
        StringBuilder args = new StringBuilder();
        for (String arg : arguments(etc)) {
            args.append(arg).append('\0');
        }
        write(dir.resolve(ARGUMENTS_FILE), args.toString(), "rw-------");
        StringBuilder variables = new StringBuilder();
        environment.forEach((name, value) -> variables.append(name).append("='").append(value.replace("'", "'\\''")).append("'\n"));
        Path file = dir.resolve(ENVIRONMENT_FILE);
        write(file, variables.toString(), "r--------");
        // The tenant's shell reads it through /dev/fd/7, which opens the file anew and checks its owner: the tenant's
        // own values, in a directory no one else on the host can enter.
        Files.setAttribute(file, "unix:uid", uid);
    }

    /** bwrap's options, in order (mounts are made in the order given); the command follows on the command line. */
    List<String> arguments(Path etc) {
        List<String> a = new ArrayList<>();
        a.addAll(List.of("--ro-bind", "/usr", "/usr"));
        if (Files.isDirectory(Path.of("/usr/local"))) {
            // locally installed tools and their configuration are the machine's, not the tenant's
            a.addAll(List.of("--tmpfs", "/usr/local", "--remount-ro", "/usr/local"));
        }
        systemDirs(a);
        a.addAll(List.of("--perms", "0755", "--dir", "/etc"));
        for (String name : HOST_ETC) {
            a.addAll(List.of("--ro-bind-try", "/etc/" + name, "/etc/" + name));
        }
        for (String name : List.of("passwd", "group", "hosts")) {
            a.addAll(List.of("--ro-bind", etc.resolve(name).toString(), "/etc/" + name));
        }
        if (nameserver != null) {
            a.addAll(List.of("--ro-bind", etc.resolve("resolv.conf").toString(), "/etc/resolv.conf"));
        }
        for (Path extra : readOnlyExtras) {
            a.addAll(List.of("--ro-bind-try", extra.toString(), extra.toString()));
        }
        a.addAll(List.of("--perms", "0755", "--dir", "/var"));
        a.addAll(List.of("--ro-bind", code.toString(), TASK_ROOT.toString()));
        if (runtime != null) {
            a.addAll(List.of("--ro-bind", runtime.toString(), RUNTIME_DIR.toString()));
        }
        a.addAll(List.of("--perms", "1777", "--size", Long.toString(tmpBytes), "--tmpfs", TMP.toString()));
        a.addAll(List.of("--proc", "/proc", "--dev", "/dev"));
        maskProc(a);
        a.addAll(List.of("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", hostname));
        // No controlling terminal to inject into. Not --die-with-parent: the kernel's parent-death signal follows the
        // thread that spawned the sandbox, not its process, and a JVM's threads come and go; the caller ends sandboxes
        // through their cgroups instead, after a crash too.
        a.addAll(List.of("--new-session", "--chdir", TASK_ROOT.toString(), "--clearenv", "--setenv", "PATH", SAFE_PATH));
        return a;
    }

    /**
     * What of a fresh /proc still shows or touches the host, hidden as Docker hides it: kernel
     * memory and keys, timers and scheduler state that name host tasks, and SCSI/ACPI/sound
     * controls writable by a root without capabilities (CVE-2017-16539). Only what this kernel has.
     */
    static final List<String> PROC_MASKED_FILES = List.of("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
            "/proc/latency_stats", "/proc/sysrq-trigger");
    static final List<String> PROC_MASKED_DIRECTORIES = List.of("/proc/scsi", "/proc/acpi", "/proc/asound");

    /** Options that mask {@link #PROC_MASKED_FILES} and {@link #PROC_MASKED_DIRECTORIES}; after {@code --proc /proc}. */
    static void maskProc(List<String> a) {
        for (String file : PROC_MASKED_FILES) {
            if (Files.exists(Path.of(file))) {
                a.addAll(List.of("--ro-bind", "/dev/null", file));
            }
        }
        for (String dir : PROC_MASKED_DIRECTORIES) {
            if (Files.isDirectory(Path.of(dir))) {
                a.addAll(List.of("--tmpfs", dir, "--remount-ro", dir));
            }
        }
    }

    /** /bin, /lib and the like: links into /usr where the host has them so (merged /usr), read-only binds where not. */
    static void systemDirs(List<String> a) {
        for (String name : SYSTEM_DIRS) {
            Path host = Path.of("/", name);
            if (Files.isSymbolicLink(host)) {
                try {
                    a.addAll(List.of("--symlink", Files.readSymbolicLink(host).toString(), host.toString()));
                } catch (IOException e) {
                    throw new IllegalStateException("reading the link " + host + ": " + e.getMessage(), e);
                }
            } else if (Files.isDirectory(host)) {
                a.addAll(List.of("--ro-bind", host.toString(), host.toString()));
            }
        }
    }

    /** What bwrap runs: setpriv, then the tenant's command. */
    List<String> tenantCommand() {
        List<String> a = new ArrayList<>();
        // Root inside the sandbox only until here: setpriv drops to the tenant's user, clears every
        // capability set including the bounding set, and sets no_new_privs, so no setuid binary
        // under /usr gives anything back.
        a.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                "--no-new-privs", "--"));
        // Now the tenant: its variables from descriptor 7 (values single-quoted, names checked), which is then closed.
        // Its first line of output says the sandbox is made (the caller times the sandbox's cost by it, and removes it).
        a.addAll(List.of("/bin/sh", "-c", "set -a && . /dev/fd/" + ENVIRONMENT_FD + " && echo " + READY_LINE + " && exec \"$@\" " + ENVIRONMENT_FD + "<&-",
                "environment"));
        a.addAll(command);
        return a;
    }

    private static void write(Path file, String content, String mode) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode)); // readable by the tenant where asked, whatever the umask
        Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    /** A single-quoted shell word. */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * Shell code that moves the running shell into each of these cgroups (their {@code cgroup.procs}
     * files), before it starts anything: every process of the sandbox is born inside them.
     */
    public static String joinCgroups(List<Path> procsFiles) {
        return procsFiles.isEmpty() ? ":" : String.join(" && ", procsFiles.stream().map(p -> "echo $$ > " + quote(p.toString())).toList());
    }
}
