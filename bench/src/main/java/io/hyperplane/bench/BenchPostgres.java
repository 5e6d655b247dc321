package io.hyperplane.bench;

import io.hyperplane.linux.Directories;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster for a bench, from Debian's postgresql package: made with initdb as
 * the postgres user (initdb refuses root) in {@code dir}, listening on a free loopback port only
 * (and its socket in {@code dir}), one database, stopped and deleted by {@link #close}. A cluster
 * a killed bench left in {@code dir} is stopped and deleted first.
 */
final class BenchPostgres implements AutoCloseable {
    static final String USER = "hyperplane";
    static final String DATABASE = "hyperplane";
    /** Where Debian's postgresql package puts each major version's binaries. */
    private static final Path INSTALLED = Path.of("/usr/lib/postgresql");
    private static final long COMMAND_SECONDS = 60;

    private final Path bin;
    private final Path dir;
    private final int port;

    private BenchPostgres(Path bin, Path dir, int port) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
    }

    static BenchPostgres start(Path dir) throws IOException, InterruptedException {
        Path bin = binaries();
        if (Files.isDirectory(dir.resolve("data"))) {
            new BenchPostgres(bin, dir, 0).close(); // a killed run's
        }
        Files.createDirectories(dir);
        UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(dir, postgres);
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        BenchPostgres cluster = new BenchPostgres(bin, dir, port);
        try {
            Path data = dir.resolve("data");
            cluster.asPostgres(bin.resolve("initdb").toString(), "-D", data.toString(), "-A", "trust", "-U", USER);
            cluster.asPostgres(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-l", dir.resolve("log").toString(),
                    "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", "start");
            cluster.asPostgres(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", USER, DATABASE);
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    /** The server's version, as {@code postgres --version} prints it. */
    String version() throws IOException, InterruptedException {
        return run(List.of(bin.resolve("postgres").toString(), "--version")).strip();
    }

    @Override
    public void close() throws IOException {
        try {
            if (Files.exists(dir.resolve("data").resolve("postmaster.pid"))) {
                asPostgres(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            Directories.deleteTree(dir);
        }
    }

    private void asPostgres(String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        full.addAll(List.of(command));
        run(full);
    }

    private String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed:\n" + output);
        }
        return output;
    }

    private static Path binaries() throws IOException {
        if (!Files.isDirectory(INSTALLED)) {
            throw new IOException("PostgreSQL is not installed: apt-get install postgresql, or run with --stores h2");
        }
        try (Stream<Path> versions = Files.list(INSTALLED)) {
            return versions.filter(v -> Files.isExecutable(v.resolve("bin/initdb")))
                    .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString().replaceAll("\\D", "0"))))
                    .map(v -> v.resolve("bin"))
                    .orElseThrow(() -> new IOException("no initdb under " + INSTALLED + ": apt-get install postgresql, or run with --stores h2"));
        }
    }
}
