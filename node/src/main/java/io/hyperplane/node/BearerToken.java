package io.hyperplane.node;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The control plane's bearer token, read from a file holding one line (trimmed). Read once at
 * start, where a missing or empty file is an error, and again before the first request after the
 * control plane refused it: an operator fixes the file and the node picks the new token up at its
 * next retry, without a restart.
 */
final class BearerToken {
    private final Path file;
    private volatile String token;
    private volatile boolean refused;

    private BearerToken(Path file, String token) {
        this.file = file;
        this.token = token;
    }

    /** @throws IOException naming the file when it cannot be read or holds no token */
    static BearerToken read(Path file) throws IOException {
        return new BearerToken(file, readToken(file));
    }

    private static String readToken(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file).trim();
        } catch (NoSuchFileException e) {
            throw new IOException("token file " + file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new IOException("token file " + file + ": permission denied", e);
        } catch (IOException e) {
            throw new IOException("token file " + file + ": cannot read it: " + e.getMessage(), e);
        }
        if (text.isEmpty() || text.contains("\n")) {
            throw new IOException("token file " + file + ": must hold the control plane's token on one line");
        }
        return text;
    }

    /** The Authorization header's value; re-reads the file first if the last one was refused. */
    String authorization() {
        if (refused) {
            refused = false;
            try {
                token = readToken(file);
            } catch (IOException e) {
                // Keep the token we have: the next refusal is reported anyway, and the file read again.
            }
        }
        return "Bearer " + token;
    }

    /** The control plane answered 401. */
    void refused() {
        refused = true;
    }

    Path file() {
        return file;
    }
}
