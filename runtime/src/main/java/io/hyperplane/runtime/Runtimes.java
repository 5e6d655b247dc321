package io.hyperplane.runtime;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * How each Lambda runtime is started, the way AWS starts it.
 *
 * <ul>
 *   <li>{@code provided.al2023}, {@code provided.al2}, {@code provided}: the function's own
 *       {@code {taskRoot}/bootstrap}, as AWS runs {@code /var/task/bootstrap}.</li>
 *   <li>{@code java25}, {@code java21}, {@code java17}: AWS's official runtime interface client
 *       ({@code com.amazonaws:aws-lambda-java-runtime-interface-client}, the same code AWS's managed java
 *       runtimes run) in a JVM started with AWS's flags, see {@link #javaCommand}.</li>
 *   <li>{@code python3.13}, {@code python3.12}, {@code python3.11}: our standard-library bootstrap
 *       ({@link #pythonBootstrap()}) on the machine's {@code python3}, whatever its minor version.</li>
 * </ul>
 *
 * <p>The java and python runtimes need files of ours readable by the function's (unprivileged) user: the
 * Python bootstrap and the runtime interface client's JNI library. They go into a <em>runtime
 * directory</em>, AWS's {@code /var/runtime}: root-owned, world-readable, not writable by functions.
 * The five-argument {@link #launch} makes one per JVM under {@code java.io.tmpdir} with a random name.
 */
public final class Runtimes {

    /** Every runtime name {@link #launch} accepts. */
    public static final List<String> SUPPORTED = List.of("provided.al2023", "provided.al2", "provided",
            "java25", "java21", "java17", "python3.13", "python3.12", "python3.11");

    /** Lambda's memory setting limits, in MB (CreateFunction MemorySize). */
    public static final int MIN_MEMORY_MB = 128;
    public static final int MAX_MEMORY_MB = 10_240;

    /** The file name of the Python bootstrap inside a runtime directory. */
    public static final String PYTHON_BOOTSTRAP_FILE = "bootstrap.py";

    /** The JNI library file inside a runtime directory, passed to the client with {@link #JNI_PROPERTY}. */
    public static final String JNI_LIBRARY_FILE = "libaws-lambda-jni.so";

    /**
     * The runtime interface client loads its JNI library from this path when set. Without it the client
     * unpacks the library to the fixed path /tmp/.libaws-lambda-jni.so, which environments of different
     * users on one host would fight over (and one function could plant a library for the next to load).
     */
    static final String JNI_PROPERTY = "com.amazonaws.services.lambda.runtime.api.client.runtimeapi.NativeClient.JNI";

    private static final String RIC_MAIN = "com.amazonaws.services.lambda.runtime.api.client.AWSLambda";

    /** The jars the client needs at run time, by artifact name (file names as Maven and most packagers keep them). */
    private static final List<String> RIC_ARTIFACTS = List.of("aws-lambda-java-runtime-interface-client",
            "aws-lambda-java-core", "aws-lambda-java-serialization", "utils-lite");

    private static final Set<PosixFilePermission> READABLE_FILE = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> READABLE_DIR = PosixFilePermissions.fromString("rwxr-xr-x");

    private Runtimes() {
    }

    /** {@link #launch(String, Path, String, int, Path, Path)} with this JVM's own runtime directory. */
    public static LaunchSpec launch(String runtime, Path taskRoot, String handler, int memoryMb, Path tmpDir) {
        if (runtime != null && (runtime.startsWith("java") || runtime.startsWith("python"))) {
            return launch(runtime, taskRoot, handler, memoryMb, tmpDir, DefaultRuntimeDir.get());
        }
        return launch(runtime, taskRoot, handler, memoryMb, tmpDir, null);
    }

    /**
     * The command and variables that start {@code runtime} for a function whose code is in {@code taskRoot}.
     *
     * @param handler    the function's Handler setting ({@code file.function}, {@code pkg.Class::method}; passed on for provided)
     * @param memoryMb   the function's MemorySize: sizes the java heap, and is {@code AWS_LAMBDA_FUNCTION_MEMORY_SIZE}
     * @param tmpDir     the environment's writable directory (AWS's /tmp): {@code TMPDIR} and the JVM's {@code java.io.tmpdir}
     * @param runtimeDir where the runtime's own files are installed if missing (AWS's /var/runtime); unused for provided
     * @throws RuntimeLaunchException   the function's code cannot be started ({@code Runtime.InvalidEntrypoint})
     * @throws IllegalArgumentException an unknown runtime or an invalid setting
     * @throws IllegalStateException    this host lacks what the runtime needs (a JDK, python3, the client's jars)
     */
    public static LaunchSpec launch(String runtime, Path taskRoot, String handler, int memoryMb, Path tmpDir,
                                    Path runtimeDir) {
        Objects.requireNonNull(taskRoot, "taskRoot");
        Objects.requireNonNull(tmpDir, "tmpDir");
        Path root = taskRoot.toAbsolutePath();
        Path dir = runtimeDir == null ? null : runtimeDir.toAbsolutePath();
        return launch(runtime, new Layout(root, dir, root, dir, tmpDir.toAbsolutePath()), handler, memoryMb);
    }

    /**
     * Where a function's files are: on this host, where they are checked and the runtime's own files
     * installed, and as the function's process sees them (a sandbox shows the code at /var/task, the
     * runtime's files at /var/runtime and its own /tmp).
     *
     * @param hostRuntimeDir where the runtime's own files are installed; null for provided runtimes
     * @param runtimeDir     the same directory as the function sees it
     */
    public record Layout(Path hostTaskRoot, Path hostRuntimeDir, Path taskRoot, Path runtimeDir, Path tmpDir) {
        public Layout {
            Objects.requireNonNull(hostTaskRoot, "hostTaskRoot");
            Objects.requireNonNull(taskRoot, "taskRoot");
            Objects.requireNonNull(tmpDir, "tmpDir");
        }

        /** A file installed under {@code hostRuntimeDir}, as the function sees it. */
        Path seen(Path installed) {
            return runtimeDir.resolve(hostRuntimeDir.relativize(installed).toString());
        }
    }

    /**
     * The command and variables that start {@code runtime} for a function laid out as {@code layout} says;
     * the command names the function's view of every path.
     *
     * @see #launch(String, Path, String, int, Path, Path)
     */
    public static LaunchSpec launch(String runtime, Layout layout, String handler, int memoryMb) {
        if (handler == null || handler.isBlank()) {
            throw new IllegalArgumentException("handler: must not be empty");
        }
        if (memoryMb < MIN_MEMORY_MB || memoryMb > MAX_MEMORY_MB) {
            throw new IllegalArgumentException("memoryMb " + memoryMb + ": must be " + MIN_MEMORY_MB + ".." + MAX_MEMORY_MB);
        }
        Path root = layout.taskRoot();
        Path tmp = layout.tmpDir();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("LAMBDA_TASK_ROOT", root.toString());
        env.put("_HANDLER", handler);
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(memoryMb));
        // AWS's /tmp is the one writable place; ours is tmpDir, so point temp-file APIs at it.
        env.put("TMPDIR", tmp.toString());
        switch (runtime == null ? "" : runtime) {
            case "provided.al2023", "provided.al2", "provided" -> {
                // AWS sets no AWS_EXECUTION_ENV for OS-only runtimes.
                providedBootstrap(layout.hostTaskRoot(), root);
                return new LaunchSpec(List.of(root.resolve("bootstrap").toString()), env);
            }
            case "java25", "java21", "java17" -> {
                Path dir = requireRuntimeDir(layout.hostRuntimeDir(), runtime);
                env.put("AWS_EXECUTION_ENV", "AWS_Lambda_" + runtime);
                env.put("LAMBDA_RUNTIME_DIR", layout.runtimeDir().toString());
                int feature = Integer.parseInt(runtime.substring("java".length()));
                return new LaunchSpec(javaCommand(javaFor(feature), root, handler, memoryMb, tmp,
                        layout.seen(installJniLibrary(dir)), installRicJars(dir).stream().map(layout::seen).toList()), env);
            }
            case "python3.13", "python3.12", "python3.11" -> {
                Path dir = requireRuntimeDir(layout.hostRuntimeDir(), runtime);
                env.put("AWS_EXECUTION_ENV", "AWS_Lambda_" + runtime);
                env.put("LAMBDA_RUNTIME_DIR", layout.runtimeDir().toString());
                return new LaunchSpec(List.of(python3().toString(), layout.seen(installPythonBootstrap(dir)).toString(), handler), env);
            }
            default -> throw new IllegalArgumentException("runtime '" + runtime + "' is not supported; supported: "
                    + String.join(", ", SUPPORTED));
        }
    }

    /** The Python bootstrap's source, for a worker that installs it itself. */
    public static byte[] pythonBootstrap() {
        return resource("python_bootstrap.py");
    }

    /** Writes the Python bootstrap into {@code dir} (created if missing), world-readable; returns its path. */
    public static Path installPythonBootstrap(Path dir) {
        return install(dir, PYTHON_BOOTSTRAP_FILE, pythonBootstrap());
    }

    /**
     * Writes the runtime interface client's JNI library for this machine (glibc or musl, x86_64 or
     * aarch64) into {@code dir}, world-readable; returns its path.
     */
    public static Path installJniLibrary(Path dir) {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch_64";
            default -> throw new IllegalStateException("the runtime interface client ships no JNI library for os.arch "
                    + System.getProperty("os.arch") + " (only x86_64 and aarch64)");
        };
        String libc = isMusl() ? "linux_musl" : "linux";
        String name = "/jni/libaws-lambda-jni." + libc + "-" + arch + ".so";
        try (InputStream in = Runtimes.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " not found on the class path: is "
                        + "aws-lambda-java-runtime-interface-client among this JVM's dependencies?");
            }
            return install(dir, JNI_LIBRARY_FILE, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name + " from the runtime interface client's jar", e);
        }
    }

    /**
     * AWS's java runtimes' JVM: heap capped at 85% of the function's memory (the rest is metaspace, code
     * cache, thread stacks and native memory under the same limit), serial GC and C1-only tiered
     * compilation because a function gets a fraction of a core and short invocations never repay C2, CDS
     * when available, and the client's main class with the handler as its argument. The function's code
     * is also on the class path, although the client loads it through its own class loader from
     * {@code LAMBDA_TASK_ROOT} as it does on AWS.
     */
    static List<String> javaCommand(Path java, Path taskRoot, String handler, int memoryMb, Path tmpDir, Path jniLibrary,
                                    List<Path> ricJars) {
        List<String> classPath = new ArrayList<>();
        classPath.add(taskRoot.toString());
        classPath.add(taskRoot.resolve("lib") + File.separator + "*");
        ricJars.forEach(jar -> classPath.add(jar.toString()));
        return List.of(java.toString(),
                "-XX:MaxHeapSize=" + (memoryMb * 85 / 100) + "m",
                "-XX:+UseSerialGC",
                "-XX:+TieredCompilation",
                "-XX:TieredStopAtLevel=1",
                "-Xshare:auto",
                "--add-opens=java.base/java.io=ALL-UNNAMED",
                "-Djava.net.preferIPv4Stack=true",
                "-Djava.io.tmpdir=" + tmpDir,
                "-D" + JNI_PROPERTY + "=" + jniLibrary,
                "-cp", String.join(File.pathSeparator, classPath),
                RIC_MAIN,
                handler);
    }

    /**
     * java17 needs a JDK 17, java25 a JDK 25. For java21 this host may have no JDK 21: then the newest JDK
     * above it runs the function (here Temurin 25), which runs Java 21 bytecode unchanged; the
     * difference a function could notice is the JDK's own behaviour changes between 21 and that release.
     */
    private static Path javaFor(int feature) {
        JdkLocator jdks = JdkLocator.system();
        return (feature == 21 ? jdks.exactOrNewer(21) : jdks.exact(feature))
                .map(JdkLocator.Jdk::java)
                .orElseThrow(() -> new IllegalStateException("runtime java" + feature + " needs a JDK " + feature
                        + (feature == 21 ? " or newer" : "") + "; found: " + jdks.all().stream()
                        .map(jdk -> jdk.feature() + " at " + jdk.home()).toList()
                        + " (looked in /usr/lib/jvm, behind /usr/bin/java and at java.home)"));
    }

    /** Checks the host's copy of the bootstrap; messages name it as the function sees it. */
    private static void providedBootstrap(Path hostTaskRoot, Path taskRoot) {
        Path bootstrap = hostTaskRoot.resolve("bootstrap");
        if (!Files.isRegularFile(bootstrap)) {
            // AWS's wording for Runtime.InvalidEntrypoint when no bootstrap exists (it also looks in /opt, for layers we do not have).
            throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): [" + taskRoot.resolve("bootstrap") + "]");
        }
        if (!anyExecuteBit(bootstrap)) {
            throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", "fork/exec " + taskRoot.resolve("bootstrap") + ": permission denied");
        }
    }

    /**
     * The function runs as another user than us (often root, for whom access(X_OK) holds for any file
     * with one execute bit), so look at the bits themselves: with none set nobody can run it.
     */
    private static boolean anyExecuteBit(Path file) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            return perms.contains(PosixFilePermission.OWNER_EXECUTE) || perms.contains(PosixFilePermission.GROUP_EXECUTE)
                    || perms.contains(PosixFilePermission.OTHERS_EXECUTE);
        } catch (UnsupportedOperationException notPosix) {
            return Files.isExecutable(file);
        } catch (IOException e) {
            return false;
        }
    }

    /** /usr/bin/python3 first: the function's user has no access to per-user installs such as pyenv's shims. */
    private static Path python3() {
        Path system = Path.of("/usr/bin/python3");
        if (Files.isExecutable(system)) {
            return system;
        }
        String path = Objects.requireNonNullElse(System.getenv("PATH"), "");
        return Arrays.stream(path.split(File.pathSeparator))
                .filter(entry -> !entry.isEmpty())
                .map(entry -> Path.of(entry, "python3"))
                .filter(Files::isExecutable)
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("the python runtimes need python3; none at /usr/bin/python3 "
                        + "or on PATH " + path));
    }

    /** The client's jars, from this JVM's class path (the worker runs with this module's dependencies). */
    /**
     * Copies the client's jars into {@code dir}/lib, world-readable: the function runs as a user
     * that may not read where this JVM's own jars are (a Maven repository under /root, say).
     */
    static synchronized List<Path> installRicJars(Path dir) {
        List<Path> installed = new ArrayList<>();
        try {
            Path lib = dir.resolve("lib");
            if (!Files.isDirectory(lib)) {
                Files.createDirectories(lib);
                setPermissions(lib, READABLE_DIR);
                lib.toFile().deleteOnExit();
            }
            for (Path jar : ricClassPath()) {
                Path target = lib.resolve(jar.getFileName().toString());
                if (!Files.exists(target)) {
                    Path tmp = lib.resolve(jar.getFileName() + ".tmp");
                    Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
                    setPermissions(tmp, READABLE_FILE);
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    target.toFile().deleteOnExit();
                }
                installed.add(target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("installing the runtime interface client's jars into " + dir + ": " + e.getMessage(), e);
        }
        return installed;
    }

    static List<Path> ricClassPath() {
        List<Path> entries = Arrays.stream(System.getProperty("java.class.path", "").split(File.pathSeparator))
                .filter(entry -> !entry.isEmpty())
                .map(Path::of)
                .toList();
        List<Path> jars = new ArrayList<>();
        for (String artifact : RIC_ARTIFACTS) {
            Pattern name = Pattern.compile(Pattern.quote(artifact) + "-\\d[^/]*\\.jar");
            Path jar = entries.stream()
                    .filter(entry -> entry.getFileName() != null && name.matcher(entry.getFileName().toString()).matches())
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("the java runtimes need " + artifact + "-<version>.jar "
                            + "on this JVM's class path (a dependency of hyperplane-runtime); java.class.path has "
                            + entries.size() + " entries and none matches"));
            jars.add(jar.toAbsolutePath());
        }
        return jars;
    }

    private static Path requireRuntimeDir(Path runtimeDir, String runtime) {
        if (runtimeDir == null) {
            throw new IllegalArgumentException("runtime " + runtime + " needs a runtimeDir for its own files");
        }
        return runtimeDir.toAbsolutePath();
    }

    private static boolean isMusl() {
        try (Stream<Path> lib = Files.list(Path.of("/lib"))) {
            return lib.anyMatch(p -> p.getFileName().toString().startsWith("ld-musl-"));
        } catch (IOException e) {
            return false;
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = Runtimes.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " missing from hyperplane-runtime's jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + name, e);
        }
    }

    /**
     * Writes {@code content} to {@code dir/name} unless it is already there, through a temporary file and
     * a rename so that a runtime starting concurrently never sees half a file.
     */
    private static Path install(Path dir, String name, byte[] content) {
        Path target = dir.toAbsolutePath().resolve(name);
        try {
            if (Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), content)) {
                return target;
            }
            Files.createDirectories(dir);
            Path partial = Files.createTempFile(dir, name, ".partial");
            try {
                Files.write(partial, content);
                setPermissions(partial, READABLE_FILE);
                try {
                    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(partial);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot install " + name + " into " + dir, e);
        }
    }

    private static void setPermissions(Path path, Set<PosixFilePermission> perms) throws IOException {
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(path, perms);
        }
    }

    /**
     * This JVM's runtime directory: a fresh randomly named one (mkdir fails on an existing name, so no
     * function can have planted it), made world-readable, removed when the JVM exits.
     */
    private static final class DefaultRuntimeDir {
        private static final Path DIR = create();

        static Path get() {
            return DIR;
        }

        private static Path create() {
            try {
                Path dir = Files.createTempDirectory("hyperplane-runtime-");
                setPermissions(dir, READABLE_DIR);
                dir.toFile().deleteOnExit();
                // Registered after the directory, so deleted before it (deleteOnExit runs in reverse order).
                dir.resolve(PYTHON_BOOTSTRAP_FILE).toFile().deleteOnExit();
                dir.resolve(JNI_LIBRARY_FILE).toFile().deleteOnExit();
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a runtime directory under " + System.getProperty("java.io.tmpdir"), e);
            }
        }
    }
}
