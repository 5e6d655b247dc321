package io.hyperplane.control.account;

import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.CredentialLookup;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Ids;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Accounts and their access keys. The server makes one default account at first start and writes
 * its key to DIR/credentials in the AWS shared-credentials format, so that
 * {@code AWS_SHARED_CREDENTIALS_FILE=DIR/credentials aws ...} just works.
 */
public final class Accounts implements CredentialLookup {
    private static final String DIGITS = "0123456789";
    private static final String KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; // AWS access key ids: base32
    private static final String SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    private static final int ACCOUNT_ID_LENGTH = 12;
    private static final int SECRET_LENGTH = 40;

    private final Database db;
    /**
     * Access keys already looked up: every request authenticates, and keys never change once made
     * (there is no DeleteAccessKey yet; when there is, it must evict here).
     */
    private final ConcurrentHashMap<String, Credential> known = new ConcurrentHashMap<>();

    public Accounts(Database db) {
        this.db = db;
    }

    /** A new account with one access key. */
    public Credential create() {
        String account = Ids.random(DIGITS, ACCOUNT_ID_LENGTH);
        String keyId = "AKIA" + Ids.random(KEY_ALPHABET, 16);
        String secret = Ids.random(SECRET_ALPHABET, SECRET_LENGTH);
        db.inTransaction(c -> {
            Timestamp now = Timestamp.from(Instant.now());
            try (PreparedStatement s = c.prepareStatement("INSERT INTO accounts (id, created_at) VALUES (?, ?)")) {
                s.setString(1, account);
                s.setTimestamp(2, now);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement(
                    "INSERT INTO access_keys (access_key_id, secret, account_id, created_at) VALUES (?, ?, ?, ?)")) {
                s.setString(1, keyId);
                s.setString(2, secret);
                s.setString(3, account);
                s.setTimestamp(4, now);
                s.executeUpdate();
            }
            return null;
        });
        return new Credential(keyId, secret, account);
    }

    /**
     * The default account's credential: the one {@code remembered} (or, from a data directory of
     * before that file, {@code credentialsFile}) names if this store knows its key, else a new
     * account. {@code remembered} is the server's own memory of it, written at once; the
     * credentials file users read is written by {@link #writeCredentialsFile} when the system
     * says it is ready. Returns whether the account is new.
     */
    public DefaultAccount ensureDefault(Path remembered, Path credentialsFile) throws IOException {
        for (Path file : List.of(remembered, credentialsFile)) {
            Optional<Credential> known = knownKey(file);
            if (known.isPresent()) {
                if (!Files.exists(remembered)) {
                    writeCredentialsFile(remembered, known.get());
                }
                return new DefaultAccount(known.get(), false);
            }
        }
        Credential created = create();
        writeCredentialsFile(remembered, created);
        return new DefaultAccount(created, true);
    }

    /** The key an AWS shared-credentials file names, if the file exists and this store knows the key. */
    private Optional<Credential> knownKey(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        for (String line : Files.readAllLines(file)) {
            String[] kv = line.split("=", 2);
            if (kv.length == 2 && kv[0].trim().equals("aws_access_key_id")) {
                return find(kv[1].trim());
            }
        }
        return Optional.empty();
    }

    public record DefaultAccount(Credential credential, boolean created) {
    }

    /** {@code credential} as an AWS shared-credentials file's default profile, root's alone, written whole or not at all. */
    public static void writeCredentialsFile(Path file, Credential credential) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, "[default]\naws_access_key_id = " + credential.accessKeyId()
                + "\naws_secret_access_key = " + credential.secretAccessKey() + "\n");
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the file keeps the default permissions
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public Optional<Credential> find(String accessKeyId) {
        Credential cached = known.get(accessKeyId);
        if (cached != null) {
            return Optional.of(cached);
        }
        Optional<Credential> found = db.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT secret, account_id FROM access_keys WHERE access_key_id = ?")) {
                s.setString(1, accessKeyId);
                try (ResultSet r = s.executeQuery()) {
                    return r.next() ? Optional.of(new Credential(accessKeyId, r.getString(1), r.getString(2))) : Optional.<Credential>empty();
                }
            }
        });
        found.ifPresent(credential -> known.put(accessKeyId, credential));
        return found;
    }

    /**
     * Serialises the account's mutations: validation that looks at other rows (overlapping
     * subnets, dependencies) then sees a stable picture, on H2 and PostgreSQL alike.
     */
    public static void lock(Connection c, String accountId) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT id FROM accounts WHERE id = ? FOR UPDATE")) {
            s.setString(1, accountId);
            s.executeQuery().close();
        }
    }
}
