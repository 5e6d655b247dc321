package io.hyperplane.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Unpacking a function's zip as Lambda's /var/task has it, within Lambda's limits. */
class CodePackageTest {
    @TempDir
    Path dir;

    private Path task() throws IOException {
        return Files.createDirectory(dir.resolve("task"));
    }

    @Test
    void shouldMakeEveryFileReadableAndBootstrapExecutable() throws Exception {
        Path task = task();

        CodePackage.lambdas().unpack(zip(Map.of("bootstrap", "#!/bin/sh\n", "lib/util.py", "x = 1\n"), "rw-------"), task);

        assertThat(Files.readString(task.resolve("lib/util.py"))).isEqualTo("x = 1\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(task.resolve("lib/util.py")))).isEqualTo("rw-r--r--");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(task.resolve("bootstrap")))).isEqualTo("rwxr-xr-x");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(task.resolve("lib")))).isEqualTo("rwxr-xr-x");
        assertThat(dir.resolve("code.zip")).as("the zip itself is gone").doesNotExist();
    }

    @Test
    void shouldKeepTheExecutableBitsTheZipGives() throws Exception {
        Path task = task();

        CodePackage.lambdas().unpack(zip(Map.of("bin/tool", "#!/bin/sh\n"), "rwxr-x---"), task);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(task.resolve("bin/tool")))).isEqualTo("rwxr-xr-x");
    }

    @Test
    void shouldNeverWriteOutsideTheTaskRoot() throws Exception {
        Path task = task();

        assertThatThrownBy(() -> new CodePackage(1000, 10).unpack(plainZip(Map.of("../escaped", "x")), task)).isInstanceOf(IOException.class);

        assertThat(dir.resolve("escaped")).doesNotExist();
    }

    @Test
    void shouldRefuseCodeThatUnzipsPastTheByteLimit() throws Exception {
        Path task = task();

        assertThatThrownBy(() -> new CodePackage(100, 10).unpack(plainZip(Map.of("a", "x".repeat(60), "b", "y".repeat(41))), task))
                .isInstanceOf(IOException.class).hasMessage("the code unzips to more than 100 bytes");
    }

    @Test
    void shouldRefuseCodeWithMoreEntriesThanTheLimit() throws Exception {
        Path task = task();

        assertThatThrownBy(() -> new CodePackage(1000, 2).unpack(plainZip(Map.of("a", "1", "b", "2", "c", "3")), task))
                .isInstanceOf(IOException.class).hasMessage("the code has more than 2 entries");
    }

    @Test
    void shouldRemoveADirectoryTree() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("env/task/lib"));
        Files.writeString(tree.resolve("f"), "x");

        FileTrees.delete(dir.resolve("env"));
        FileTrees.delete(dir.resolve("never-made"));

        assertThat(dir.resolve("env")).doesNotExist();
    }

    /** A zip as java.util.zip writes it: no Unix modes. */
    private static byte[] plainZip(Map<String, String> files) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, String> f : new TreeMap<>(files).entrySet()) {
                zip.putNextEntry(new ZipEntry(f.getKey()));
                zip.write(f.getValue().getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** A zip whose files have the Unix mode {@code mode}, as zip(1) keeps them. */
    private byte[] zip(Map<String, String> files, String mode) throws IOException {
        Path file = dir.resolve("made.zip");
        try (var fs = FileSystems.newFileSystem(URI.create("jar:" + file.toUri()), Map.of("create", "true", "enablePosixFileAttributes", "true"))) {
            for (Map.Entry<String, String> f : files.entrySet()) {
                Path target = fs.getPath("/" + f.getKey());
                if (target.getParent() != null) {
                    Files.createDirectories(target.getParent());
                }
                Files.writeString(target, f.getValue());
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(mode));
            }
        }
        byte[] bytes = Files.readAllBytes(file);
        Files.delete(file);
        return bytes;
    }
}
