package io.hyperplane.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.lab.Lab;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.worker.WorkerSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 12: hostile function code, in python and as a {@code provided} bootstrap, tries to read,
 * write, see, exhaust and outlive what it does not own. Every attempt fails the way a sandboxed
 * Lambda environment fails it, and the host and the other tenants are untouched.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(600)
class SandboxEscapeEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What every hostile function runs: each attempt's result, by name. */
    static final String PROBE = """
            import ctypes, errno, json, os, resource, socket, subprocess, threading

            def attempt(fn):
                try:
                    return fn()
                except Exception as e:
                    return type(e).__name__

            def write(path):
                with open(path, "w") as f:
                    f.write("x")
                return "written"

            def probe(event):
                out = {"uid": os.getuid(), "hostname": socket.gethostname(), "root": sorted(os.listdir("/"))}
                out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
                out["reads"] = {path: attempt(lambda: open(path, "rb").read(16).hex()) for path in event["read"]}
                out["lists"] = {path: attempt(lambda: os.listdir(path)) for path in event["list"]}
                out["environOf1"] = attempt(lambda: open("/proc/1/environ", "rb").read().hex())
                out["timerList"] = attempt(lambda: len(open("/proc/timer_list", "rb").read()))
                out["writes"] = {path: attempt(lambda: write(path)) for path in ["/x", "/var/task/x", "/etc/x", "/usr/x", "/dev/shm/x", "/tmp/x"]}
                libc = ctypes.CDLL(None, use_errno=True)
                def call(result):
                    return errno.errorcode.get(ctypes.get_errno(), "ok") if result != 0 else "ok"
                out["mount"] = call(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
                out["ptrace"] = call(libc.ptrace(0, 0, 0, 0))
                out["unshareUser"] = call(libc.unshare(0x10000000))
                out["rawSocket"] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) and "opened")
                out["linkDown"] = subprocess.run(["ip", "link", "set", "eth0", "down"], capture_output=True).returncode
                out["nofile"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
                out["raiseNofile"] = attempt(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096)) or "raised")
                files = []
                try:
                    while len(files) < 100000:
                        files.append(open("/dev/null"))
                    out["openFiles"] = [len(files), "no limit"]
                except OSError as e:
                    out["openFiles"] = [len(files), errno.errorcode.get(e.errno)]
                for f in files:
                    f.close()
                stop, threads = threading.Event(), []
                try:
                    while len(threads) < 5000:
                        t = threading.Thread(target=stop.wait)
                        t.start()
                        threads.append(t)
                    out["threads"] = [len(threads), "no limit"]
                except RuntimeError as e:
                    out["threads"] = [len(threads), "RuntimeError"]
                stop.set()
                for t in threads:
                    t.join()
                try:
                    out["preloaded"] = open("/tmp/hp-preload-marker").read().split()
                except OSError:
                    out["preloaded"] = []
                return out

            def fill_tmp(mb):
                written = 0
                try:
                    with open("/tmp/fill", "wb") as f:
                        chunk = b"\\1" * (1 << 20)
                        for _ in range(mb):
                            f.write(chunk)
                            f.flush()
                            written += 1
                    result = "ok"
                except OSError as e:
                    result = errno.errorcode.get(e.errno)
                os.remove("/tmp/fill")
                return [written, result]

            def survive(marker):
                # A new session, a double fork, and a new namespace: none may outlive the environment.
                subprocess.Popen(["setsid", "sleep", marker], start_new_session=True)
                subprocess.run(["sh", "-c", "(sleep " + marker + " &) &"])
                unshared = subprocess.run(["unshare", "--fork", "--pid", "sleep", marker], capture_output=True).returncode
                return {"unshare": unshared}

            def handle(event):
                action = event["action"]
                if action == "probe":
                    return probe(event)
                if action == "fill":
                    return fill_tmp(event["mb"])
                if action == "survive":
                    return survive(event["marker"])
                if action == "oom":
                    hog = b"\\1" * (event["mb"] << 20)
                    return len(hog)
                return "unknown action"
            """;
    static final String PYTHON_APP = """
            import probe

            def handler(event, context):
                return probe.handle(event)
            """;
    /** A provided.al2023 bootstrap: the Runtime API loop by hand, running the same probes. */
    static final String BOOTSTRAP = """
            #!/usr/bin/env python3
            import json, os, sys, urllib.request
            sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
            import probe
            api = os.environ["AWS_LAMBDA_RUNTIME_API"]
            while True:
                with urllib.request.urlopen("http://" + api + "/2018-06-01/runtime/invocation/next") as r:
                    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                    event = json.loads(r.read())
                body = json.dumps(probe.handle(event)).encode()
                urllib.request.urlopen(urllib.request.Request("http://" + api + "/2018-06-01/runtime/invocation/" + rid + "/response",
                                                              data=body, method="POST")).read()
            """;
    /** Marks every process that loads it, with its uid, in /tmp: root-run launch steps would mark the host's /tmp. */
    private static final String PRELOAD_C = """
            #include <fcntl.h>
            #include <stdio.h>
            #include <unistd.h>
            __attribute__((constructor)) static void mark(void) {
                char line[32];
                int n = snprintf(line, sizeof line, "%d\\n", (int) getuid());
                int fd = open("/tmp/hp-preload-marker", O_WRONLY | O_CREAT | O_APPEND, 0666);
                if (fd >= 0) { write(fd, line, n); close(fd); }
            }
            """;
    private static final Path HOST_MARKER = Path.of("/tmp/hp-preload-marker");
    private static final Path HOST_TMP_SECRET = Path.of("/tmp/hp-escape-host-secret");
    private static final Path HOST_SHM_SECRET = Path.of("/dev/shm/hp-escape-host-secret");

    private RuntimeWorld w;

    @BeforeAll
    void start() throws Exception {
        Files.deleteIfExists(HOST_MARKER);
        Files.writeString(HOST_TMP_SECRET, "host tmp");
        Files.writeString(HOST_SHM_SECRET, "host shm");
        w = new RuntimeWorld("hp-sx-", "sx", "shared");
        w.buildVpc("10.7.0.0/16", "10.7.1.0/24", "10.7.2.0/24");
        byte[] preload = compile(PRELOAD_C);
        w.createFunction("hostile-py", "python3.12", "app.handler", zip(Map.of("app.py", text(PYTHON_APP), "probe.py", text(PROBE),
                        "preload.so", preload)), List.of(w.subnetA), 60, 1024,
                b -> b.environment(e -> e.variables(Map.of("LD_PRELOAD", "./preload.so"))).ephemeralStorage(s -> s.size(512)));
        w.createFunction("hostile-provided", "provided.al2023", "unused", zip(Map.of("bootstrap", text(BOOTSTRAP), "probe.py", text(PROBE))),
                List.of(w.subnetA), 60, 256, b -> { });
    }

    @AfterAll
    void stop() throws IOException {
        if (w != null) {
            w.close();
        }
        Files.deleteIfExists(HOST_MARKER);
        Files.deleteIfExists(HOST_TMP_SECRET);
        Files.deleteIfExists(HOST_SHM_SECRET);
        assertThat(Namespaces.list()).as("no namespace of this test is left").noneMatch(n -> n.startsWith("hp-sx-") || n.startsWith("hp-ee-sx-"));
        assertThat(Lab.DEFAULT_STATE_ROOT.resolve("hp-sx-")).as("instances' layers and images went with the lab").doesNotExist();
        for (Path ours : List.of(Lab.DEFAULT_STATE_ROOT, Lab.DEFAULT_STATE_ROOT.getParent())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ours)))
                    .as(ours + ": no other user, tenant code included, reads the system's state").isEqualTo("rwx------");
        }
        assertThat(UidLeaseFiles.held("sx")).as("every uid the worker leased is returned").isEmpty();
        for (String controller : List.of("memory", "pids", "freezer", "cpu", "")) {
            assertThat(Path.of("/sys/fs/cgroup", controller, "hyperplane-sx")).as("the worker's cgroups are gone").doesNotExist();
            assertThat(Path.of("/sys/fs/cgroup", controller, "hyperplane-lab-hp-sx")).as("the instances' cgroups are gone").doesNotExist();
        }
    }

    private JsonNode invoke(String function, ObjectNode event) throws Exception {
        InvokeResponse r = w.invoke(function, event.toString());
        String body = r.payload().asUtf8String();
        assertThat(r.functionError()).as(body + "\n" + RuntimeWorld.log(r)).isNull();
        return JSON.readTree(body);
    }

    private ObjectNode probeEvent() {
        ObjectNode event = JSON.createObjectNode().put("action", "probe");
        var read = event.putArray("read");
        read.add(w.dir.resolve("data").resolve("hyperplane.mv.db").toString()); // the control plane's store: every account's keys
        read.add(w.dir.resolve("data").resolve("credentials").toString());
        read.add(HOST_TMP_SECRET.toString());
        read.add(HOST_SHM_SECRET.toString());
        read.add("/etc/shadow");
        read.add("/root/.bashrc");
        var list = event.putArray("list");
        list.add("/run/hyperplane");
        list.add("/var/lib/hyperplane");
        list.add("/root");
        list.add("/home");
        list.add(w.dir.toString());
        list.add("/sys/fs/cgroup");
        return event;
    }

    @Test
    @Order(1)
    void shouldSeeNothingOfTheHostOrOtherTenantsFromPythonOrAProvidedBootstrap() throws Exception {
        for (String function : List.of("hostile-py", "hostile-provided")) {
            JsonNode out = invoke(function, probeEvent());
            System.out.println(function + " probes: " + out);
            assertThat(out.path("uid").asInt()).as("not root").isGreaterThanOrEqualTo(WorkerSettings.DEFAULT_FIRST_UID);
            assertThat(JSON.convertValue(out.path("root"), List.class)).as("its own root directory")
                    .containsExactlyInAnyOrder("bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "tmp", "usr", "var");
            assertThat(out.path("pids").size()).as("it sees only its own processes: " + out.path("pids")).isLessThan(10);
            assertThat(out.path("hostname").asText()).isEqualTo("localhost");
            out.path("reads").fields().forEachRemaining(e ->
                    assertThat(e.getValue().asText()).as("reading " + e.getKey()).isIn("FileNotFoundError", "PermissionError"));
            out.path("lists").fields().forEachRemaining(e ->
                    assertThat(e.getValue().asText()).as("listing " + e.getKey()).isIn("FileNotFoundError", "PermissionError"));
            assertThat(out.path("environOf1").asText()).as("PID 1 is bubblewrap's, root's").isEqualTo("PermissionError");
            assertThat(out.path("timerList").asText()).as("no host tasks through /proc/timer_list (masked: nothing, or refused)")
                    .isIn("0", "FileNotFoundError", "PermissionError");
            out.path("writes").fields().forEachRemaining(e -> {
                if (e.getKey().equals("/tmp/x")) {
                    assertThat(e.getValue().asText()).as("its own /tmp").isEqualTo("written");
                } else {
                    // EACCES, or EROFS (python's plain OSError) on the read-only mounts; /dev/shm is not the host's
                    assertThat(e.getValue().asText()).as("writing " + e.getKey()).isIn("PermissionError", "OSError", "FileNotFoundError");
                }
            });
            assertThat(out.path("mount").asText()).isEqualTo("EPERM");
            assertThat(out.path("ptrace").asText()).isEqualTo("EPERM");
            assertThat(out.path("unshareUser").asText()).isEqualTo("EPERM");
            assertThat(out.path("rawSocket").asText()).isEqualTo("PermissionError");
            assertThat(out.path("linkDown").asInt()).as("cannot change its link").isNotZero();
            assertThat(out.path("nofile").toString()).isEqualTo("[1024,1024]");
            assertThat(out.path("raiseNofile").asText()).isIn("ValueError", "PermissionError");
            assertThat(out.path("openFiles").get(0).asInt()).as("Lambda's 1,024 file descriptors").isBetween(1000, 1024);
            assertThat(out.path("openFiles").get(1).asText()).isEqualTo("EMFILE");
            assertThat(out.path("threads").get(0).asInt()).as("Lambda's 1,024 processes and threads").isBetween(900, 1024);
            assertThat(out.path("threads").get(1).asText()).isEqualTo("RuntimeError");
        }
        assertThat(Files.readString(HOST_TMP_SECRET)).isEqualTo("host tmp");
        assertThat(HOST_SHM_SECRET).exists();
    }

    @Test
    @Order(2)
    void shouldApplyLdPreloadToTheFunctionOnlyNeverToARootStep() throws Exception {
        JsonNode out = invoke("hostile-py", probeEvent());
        List<String> uids = new ArrayList<>();
        out.path("preloaded").forEach(n -> uids.add(n.asText()));
        assertThat(uids).as("the function's own processes loaded it, as on AWS").isNotEmpty().doesNotContain("0")
                .allMatch(uid -> Long.parseLong(uid) >= WorkerSettings.DEFAULT_FIRST_UID);
        assertThat(HOST_MARKER).as("no root-run launch step loaded the tenant's library").doesNotExist();
    }

    @Test
    @Order(3)
    void shouldFailWithNoSpaceLeftPastEphemeralStorageAndKeepWorking() throws Exception {
        JsonNode out = invoke("hostile-py", JSON.createObjectNode().put("action", "fill").put("mb", 700));
        assertThat(out.get(1).asText()).isEqualTo("ENOSPC");
        assertThat(out.get(0).asInt()).as("EphemeralStorage 512 MB").isBetween(500, 512);
        assertThat(invoke("hostile-py", JSON.createObjectNode().put("action", "fill").put("mb", 10)).get(1).asText())
                .as("the environment keeps working").isEqualTo("ok");
    }

    @Test
    @Order(4)
    void shouldLeaveNoProcessBehindWhateverTheFunctionStarted() throws Exception {
        String marker = "7" + (System.nanoTime() % 1_000_000);
        JsonNode out = invoke("hostile-provided", JSON.createObjectNode().put("action", "survive").put("marker", marker));
        assertThat(out.path("unshare").asInt()).as("no new PID namespace").isNotZero();
        assertThat(sleepers(marker)).as("the function's detached processes run while it lives").isNotEmpty();
        w.lambda.deleteFunction(b -> b.functionName("hostile-provided"));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(sleepers(marker)).as("after its environment ends").isEmpty());
    }

    @Test
    @Order(5)
    void shouldKeepUserDataInsideItsInstance() throws Exception {
        Path hostMarker = Path.of("/tmp/hp-userdata-escape");
        Files.deleteIfExists(hostMarker);
        Path store = w.dir.resolve("data");
        String userData = String.join("\n", "#!/bin/sh",
                "echo uid=$(id -u)",
                "touch /tmp/hp-userdata-escape && echo touched=0",
                "cat '" + store + "/hyperplane.mv.db' > /dev/null 2>&1; echo readStore=$?",
                "ls /run/hyperplane > /dev/null 2>&1; echo listRun=$?",
                "echo processes=$(ls /proc | grep -c '^[0-9]')",
                "echo hashes=$(cut -d: -f2 /etc/shadow | sort -u | tr '\\n' ,)",
                "nft flush ruleset > /dev/null 2>&1; echo nftFlush=$?",
                "ip link set hp-eth0 down > /dev/null 2>&1; echo linkDown=$?",
                "mount -t tmpfs none /mnt > /dev/null 2>&1; echo mount=$?",
                "mknod /tmp/disk b 8 0 > /dev/null 2>&1; echo mknod=$?",
                "echo host=$(hostname)",
                // The package manager works on the instance's own layers: apt-get installs PostgreSQL, which the host has
                // (no download: tests never leave the machine), and dpkg installs a package made here, into this instance only.
                "PG=$(dpkg -S \"$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)\" | cut -d: -f1)",
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-download --no-upgrade \"$PG\" > /tmp/apt.log 2>&1; echo aptGet=$?; sed 's/^/apt: /' /tmp/apt.log",
                "mkdir -p /root/pkg/DEBIAN /root/pkg/usr/share/hp-instance-probe && echo probe > /root/pkg/usr/share/hp-instance-probe/file",
                "printf 'Package: hp-instance-probe\\nVersion: 1\\nArchitecture: all\\nMaintainer: hyperplane\\nDescription: probe\\n' > /root/pkg/DEBIAN/control",
                "dpkg-deb --build /root/pkg /root/probe.deb > /dev/null 2>&1 && dpkg -i /root/probe.deb > /tmp/dpkg.log 2>&1; echo dpkgInstall=$?; sed 's/^/apt: /' /tmp/dpkg.log",
                "touch /usr/bin/hp-instance-layer && echo usrWritable=0",
                "echo timerList=$(wc -c < /proc/timer_list)",
                "ls /var/cache/debconf/passwords.dat > /dev/null 2>&1; echo debconfPasswords=$?",
                "ping -c 1 -W 2 10.7.2.1 > /dev/null 2>&1; echo ping=$?",
                "echo layerBytes=$(df -B1 --output=size /root | tail -1 | tr -d ' ')",
                // Bounded in processes (4,096) and memory (4 GiB): more threads fail, 5 GiB gets the process killed.
                "python3 -c 'import threading; e = threading.Event(); n = 0\ntry:\n    while n < 10000: threading.Thread(target=e.wait).start(); n += 1\nexcept RuntimeError: pass\nprint(\"threads=%d\" % n); e.set()'",
                "python3 -c 'b = b\"\\1\" * (5 << 30)' > /dev/null 2>&1; echo memory=$?",
                "echo runBytes=$(df -B1 --output=size /run | tail -1 | tr -d ' ')",
                "echo userdata-probe-done", "");
        String id = w.ec2.runInstances(b -> b.imageId("ami-x").minCount(1).maxCount(1).subnetId(w.subnetB).securityGroupIds(w.fnGroup)
                .userData(Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)))).instances().getFirst().instanceId();
        Path log = Lab.DEFAULT_STATE_ROOT.resolve("hp-sx-").resolve(id + ".log");
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(log) && Files.readString(log).contains("userdata-probe-done"));
        Map<String, String> out = new HashMap<>();
        Files.readAllLines(log).stream().filter(l -> l.matches("[a-zA-Z]+=.*"))
                .forEach(l -> out.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        System.out.println("UserData probes: " + out + "\n" + Files.readAllLines(log).stream().filter(l -> l.startsWith("apt: ")).toList());
        assertThat(out.get("uid")).as("root of the instance").isEqualTo("0");
        assertThat(out.get("touched")).as("its own /tmp").isEqualTo("0");
        assertThat(hostMarker).as("not the host's /tmp").doesNotExist();
        assertThat(out.get("readStore")).as("the control plane's store").isNotEqualTo("0");
        assertThat(out.get("listRun")).as("the system's state").isNotEqualTo("0");
        assertThat(Integer.parseInt(out.get("processes"))).as("only its own processes").isLessThan(10);
        assertThat(out.get("hashes")).as("no password hash of the host").isEqualTo("*,");
        assertThat(out.get("nftFlush")).as("cannot drop its own security group").isNotEqualTo("0");
        assertThat(out.get("linkDown")).as("cannot change its network").isNotEqualTo("0");
        assertThat(out.get("mount")).isNotEqualTo("0");
        assertThat(out.get("mknod")).as("no device nodes onto the host's disks").isNotEqualTo("0");
        assertThat(out.get("host")).startsWith("ip-10-7-2-");
        assertThat(out.get("aptGet")).as("apt-get install works inside").isEqualTo("0");
        assertThat(out.get("dpkgInstall")).as("dpkg installs into the instance").isEqualTo("0");
        assertThat(Path.of("/usr/share/hp-instance-probe")).as("the package is the instance's alone").doesNotExist();
        Process dpkg = new ProcessBuilder("dpkg", "-s", "hp-instance-probe").redirectErrorStream(true).start();
        dpkg.getInputStream().readAllBytes();
        assertThat(dpkg.waitFor()).as("the host's dpkg never heard of it").isNotZero();
        assertThat(out.get("usrWritable")).as("its /usr is its own layer").isEqualTo("0");
        assertThat(Path.of("/usr/bin/hp-instance-layer")).as("not the host's /usr").doesNotExist();
        assertThat(out.get("layerBytes")).as("its own files live in a bounded file system, not the host's /run").isEqualTo(Long.toString(4L << 30));
        assertThat(Integer.parseInt(out.get("threads"))).as("its processes and threads are bounded").isBetween(3000, 4096);
        assertThat(out.get("memory")).as("past its memory the kernel kills it (SIGKILL)").isEqualTo("137");
        assertThat(out.get("timerList")).as("/proc shows no host timers (tasks): masked, nothing or refused").isIn("0", "");
        assertThat(out.get("debconfPasswords")).as("no host package secrets").isNotEqualTo("0");
        assertThat(out.get("ping")).as("ping works without CAP_NET_RAW").isEqualTo("0");
        assertThat(out.get("runBytes")).as("and so do its /run, /tmp and /dev/shm").isEqualTo(Long.toString(1L << 30));
        w.ec2.terminateInstances(b -> b.instanceIds(id));
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(Lab.DEFAULT_STATE_ROOT.resolve("hp-sx-").resolve(id)));
    }

    @Test
    @Order(6)
    void shouldReportRunningOutOfMemoryAsAwsDoesAndRecover() throws Exception {
        InvokeResponse r = w.invoke("hostile-py", JSON.createObjectNode().put("action", "oom").put("mb", 1500).toString());
        assertThat(r.functionError()).isEqualTo("Unhandled");
        JsonNode error = JSON.readTree(r.payload().asUtf8String());
        assertThat(error.path("errorType").asText()).as(r.payload().asUtf8String()).isEqualTo("Runtime.OutOfMemory");
        assertThat(error.path("errorMessage").asText()).contains("Runtime exited with error: signal: killed");
        assertThat(invoke("hostile-py", JSON.createObjectNode().put("action", "fill").put("mb", 1)).get(1).asText())
                .as("the next invocation gets a new environment").isEqualTo("ok");
    }

    /** Host processes running {@code sleep MARKER}. */
    private static List<ProcessHandle> sleepers(String marker) {
        return ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false)).toList();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] zip(Map<String, byte[]> files) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                zip.putNextEntry(new ZipEntry(f.getKey()));
                zip.write(f.getValue());
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** A shared library built by the machine's C compiler. */
    private static byte[] compile(String source) throws Exception {
        Path dir = Files.createTempDirectory("hp-preload");
        try {
            Files.writeString(dir.resolve("preload.c"), source);
            Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", dir.resolve("preload.so").toString(), dir.resolve("preload.c").toString())
                    .redirectErrorStream(true).start();
            String output = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(cc.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(cc.exitValue()).as("cc: " + output).isZero();
            return Files.readAllBytes(dir.resolve("preload.so"));
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }
}
