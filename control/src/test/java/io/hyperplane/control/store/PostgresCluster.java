package io.hyperplane.control.store;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A private PostgreSQL cluster for tests, from Debian's postgresql package (installed by
 * ./hyperplane test): initdb in a temporary directory as the postgres user (initdb refuses root),
 * listening on a free loopback port only, stopped and deleted by {@link #close}.
 */
public final class PostgresCluster implements AutoCloseable {
    private static final String USER = "hyperplane";
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Path bin;
    private final Path dir;
    private final int port;

    private PostgresCluster(Path bin, Path dir, int port) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
    }

    public static PostgresCluster start() throws IOException, InterruptedException {
        Path bin = binaries();
        Path dir = Files.createTempDirectory("hp-pg");
        UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(dir, postgres);
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        PostgresCluster cluster = new PostgresCluster(bin, dir, port);
        Path data = dir.resolve("data");
        cluster.asPostgres(bin.resolve("initdb").toString(), "-D", data.toString(), "-A", "trust", "-U", USER, "--no-sync");
        cluster.asPostgres(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-l", dir.resolve("log").toString(),
                "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", "start");
        return cluster;
    }

    /** A new, empty database; returns its JDBC URL (user {@link #user()}, no password). */
    public String newDatabase() throws IOException, InterruptedException {
        String name = "hp_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        asPostgres(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", USER, name);
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + name;
    }

    public String user() {
        return USER;
    }

    @Override
    public void close() throws IOException {
        try {
            asPostgres(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "stop");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private void asPostgres(String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        full.addAll(List.of(command));
        Process p = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", full) + " failed:\n" + output);
        }
    }

    private static Path binaries() throws IOException {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            throw new IOException("PostgreSQL is not installed (apt-get install postgresql, or run ./hyperplane test)");
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.filter(v -> Files.isExecutable(v.resolve("bin/initdb")))
                    .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString().replaceAll("\\D", "0"))))
                    .map(v -> v.resolve("bin"))
                    .orElseThrow(() -> new IOException("no initdb under " + root));
        }
    }

    /**
     * One cluster for a test class, a new database per test: {@code @RegisterExtension static final
     * PostgresCluster.PerClass postgres = new PostgresCluster.PerClass();}.
     */
    public static final class PerClass implements BeforeAllCallback, AfterAllCallback {
        private PostgresCluster cluster;

        @Override
        public void beforeAll(ExtensionContext context) throws Exception {
            cluster = start();
        }

        @Override
        public void afterAll(ExtensionContext context) throws Exception {
            if (cluster != null) {
                cluster.close();
            }
        }

        /** The JDBC URL of a new, empty database. */
        public String newDatabaseUrl() throws IOException, InterruptedException {
            return cluster.newDatabase();
        }

        public String user() {
            return cluster.user();
        }

        /** A new, empty database, opened (and migrated). */
        public Database newDatabase() throws IOException, InterruptedException {
            return Database.open(cluster.newDatabase(), cluster.user(), null);
        }
    }
}
