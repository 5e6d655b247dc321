package io.hyperplane.linux.sandbox;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Real bubblewrap sandboxes (root, as the worker runs them) running a shell: what the tenant sees,
 * what it can write, and what the system-call filter refuses. Each attempt is a command whose exit
 * status or output the tenant would get.
 */
@Timeout(60)
class SandboxTest {
    private static final int UID = 64_321;
    /** What the tenant's resolv.conf names: an address of its network's resolver (never looked up here). */
    private static final String NAMESERVER = "192.0.2.2";
    private Path dir;
    private Path code;
    private Path filter;

    @BeforeEach
    void setUp() throws IOException {
        assertThat(System.getProperty("user.name")).as("sandboxes are made by root (run the tests as root)").isEqualTo("root");
        dir = Files.createTempDirectory("hp-sandbox-test-");
        code = Files.createDirectories(dir.resolve("code"));
        Files.setPosixFilePermissions(code, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(code.resolve("hello.txt"), "hello from the code\n");
        Files.setPosixFilePermissions(code.resolve("hello.txt"), PosixFilePermissions.fromString("rw-r--r--"));
        filter = dir.resolve("filter.bpf");
        SyscallFilter.write(filter);
    }

    @AfterEach
    void tearDown() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private record Run(int exit, String output) {
    }

    private Run run(String script, Map<String, String> env, long tmpBytes) throws Exception {
        Sandbox sandbox = new Sandbox("sandbox-test", code, null, tmpBytes, UID, env, List.of("/bin/sh", "-c", script), List.of(),
                NAMESERVER);
        sandbox.prepare(dir);
        ProcessBuilder pb = new ProcessBuilder(sandbox.launchCommand("ulimit -n 64 && ", List.of("nice", "-n", "1"), dir, filter)).directory(Path.of("/").toFile())
                .redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String output = new String(out, StandardCharsets.UTF_8);
        String ready = Sandbox.READY_LINE + "\n";
        assertThat(output).as("the sandbox says it is made before the tenant's command writes anything").startsWith(ready);
        return new Run(p.exitValue(), output.substring(ready.length()));
    }

    private Run run(String script) throws Exception {
        return run(script, Map.of("PATH", "/usr/bin:/bin"), 8 * 1024 * 1024);
    }

    @Test
    void shouldShowTheTenantOnlyTheRootFilesystemMadeForIt() throws Exception {
        Run r = run("id -u; id -g; ls -A /; echo ---; ls /var; cat /var/task/hello.txt; echo ---; ls /proc | grep -c '^[0-9]'; "
                + "ls /root /run /home /usr/local 2>&1; echo ---; ls /dev; echo ---; grep sbx /etc/passwd; hostname");
        assertThat(r.exit()).as(r.output()).isZero();
        String[] parts = r.output().split("---\n");
        assertThat(parts[0].lines().limit(2).toList()).as("its own user and group").containsExactly(Integer.toString(UID), Integer.toString(UID));
        assertThat(parts[0].lines().skip(2).toList()).as("the root directory")
                .containsExactlyInAnyOrder("bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "tmp", "usr", "var");
        assertThat(parts[1]).contains("task").contains("hello from the code");
        assertThat(parts[2].lines().findFirst().orElseThrow()).as("processes it sees: bwrap's init, sh, ls, grep").isIn("3", "4");
        assertThat(parts[2]).as("host directories do not exist").contains("ls: cannot access '/root'").contains("'/run'").contains("'/home'");
        assertThat(parts[3].lines().toList()).contains("null", "zero", "full", "random", "urandom").doesNotContain("sda", "mem", "kmsg");
        assertThat(parts[4]).contains(Sandbox.USER_NAME + ":x:" + UID).contains("sandbox-test");
    }

    @Test
    void shouldKeepTheSystemFilesReadOnlyAndTheTenantsValuesOffItsCommandLine() throws Exception {
        Run r = run("touch /usr/x 2>/dev/null; echo usr=$?; touch /var/task/x 2>/dev/null; echo task=$?; touch /etc/x 2>/dev/null; echo etc=$?; "
                + "touch /tmp/x; echo tmp=$?; tr '\\0' ' ' < /proc/1/cmdline; echo; echo secret=$SECRET",
                Map.of("PATH", "/usr/bin:/bin", "SECRET", "s3cr3t'quoted\"$(id)"), 8 * 1024 * 1024);
        assertThat(r.output()).contains("usr=1", "task=1", "etc=1", "tmp=0");
        String pid1 = r.output().lines().filter(line -> line.startsWith("bwrap")).findFirst().orElseThrow();
        assertThat(pid1).as("PID 1 shows no host path and no value").startsWith("bwrap --args 8 --seccomp 9 -- setpriv")
                .doesNotContain("s3cr3t").doesNotContain(dir.toString());
        assertThat(r.output()).as("the tenant's own process has its variables").contains("secret=s3cr3t'quoted\"$(id)\n");
    }

    @Test
    void shouldFailWithNoSpaceLeftPastItsTmpSize() throws Exception {
        Run r = run("head -c 3000000 /dev/zero > /tmp/a; echo first=$?; head -c 3000000 /dev/zero > /tmp/b; echo second=$?",
                Map.of("PATH", "/usr/bin:/bin"), 4 * 1024 * 1024);
        assertThat(r.output()).contains("first=0").contains("No space left on device").contains("second=1");
    }

    @Test
    void shouldRefuseMountsNamespacesTracingAndKeyrings() throws Exception {
        Files.writeString(code.resolve("probe.py"), """
                import ctypes, errno, os
                libc = ctypes.CDLL(None, use_errno=True)
                def attempt(name, result):
                    print(name, result, errno.errorcode.get(ctypes.get_errno(), 0))
                attempt('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))
                attempt('unshare-user', libc.unshare(0x10000000))
                attempt('ptrace-traceme', libc.ptrace(0, 0, 0, 0))
                attempt('keyctl', libc.syscall(250, 0, 0, 0, 0))
                attempt('bpf', libc.syscall(321, 0, 0, 0))
                attempt('clone-newuser', libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0))
                """);
        Files.setPosixFilePermissions(code.resolve("probe.py"), PosixFilePermissions.fromString("rw-r--r--"));
        Run r = run("python3 /var/task/probe.py; unshare -r true 2>&1; echo unshare=$?");
        assertThat(r.output()).as(r.output())
                .contains("mount -1 EPERM")
                .contains("unshare-user -1 EPERM")
                .contains("ptrace-traceme -1 EPERM")
                .contains("keyctl -1 EPERM")
                .contains("bpf -1 EPERM")
                .contains("clone-newuser -1 EPERM")
                .contains("unshare=1");
    }

    @Test
    void shouldNameItsNetworksResolverInAResolvConfTheTenantCannotChange() throws Exception {
        Run r = run("cat /etc/resolv.conf; { echo 'nameserver 203.0.113.66' > /etc/resolv.conf; } 2>/dev/null || echo write refused; "
                + "rm -f /etc/resolv.conf 2>/dev/null || echo rm refused; cat /etc/resolv.conf");

        assertThat(r.output()).isEqualTo("nameserver " + NAMESERVER + "\nwrite refused\nrm refused\nnameserver " + NAMESERVER + "\n");
    }

    @Test
    void shouldRefuseANameserverThatIsNoAddress() {
        for (String bad : List.of("192.0.2.2\nnameserver 203.0.113.66", "192.0.2", "192.0.2.256", "010.0.0.2", "resolver")) {
            assertThatThrownBy(() -> new Sandbox("h", Path.of("/x"), null, 1 << 20, UID, Map.of(), List.of("true"), List.of(), bad))
                    .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be an IPv4 address");
        }
    }

    @Test
    void shouldRefuseValuesThatWouldBecomeArguments() {
        assertThatThrownBy(() -> new Sandbox("h", Path.of("/x"), null, 1 << 20, UID, Map.of("A", "x\0--bind\0/\0/host"), List.of("true"), List.of(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NUL");
        assertThatThrownBy(() -> new Sandbox("h", Path.of("/x"), null, 1 << 20, UID, Map.of("A;id", "x"), List.of("true"), List.of(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("letters");
        assertThatThrownBy(() -> new Sandbox("h", Path.of("/x"), null, 1 << 20, 0, Map.of(), List.of("true"), List.of(), null))
                .hasMessageContaining("root");
    }
}
