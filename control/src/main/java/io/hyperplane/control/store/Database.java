package io.hyperplane.control.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The control plane's store: a pooled JDBC database migrated by Flyway at open. Embedded H2 in
 * the data directory by default, PostgreSQL (or any URL Flyway supports) when a JDBC URL is given.
 * Every change to state runs in {@link #inTransaction}: all of it commits or none of it does.
 */
public final class Database implements AutoCloseable {
    /** Pool size: the API serves many concurrent clients, mutations are serialised per account. */
    private static final int POOL_SIZE = 16;

    private final HikariDataSource dataSource;
    private final String url;

    private Database(String url, String user, String password) {
        this.url = url;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        if (user != null) {
            config.setUsername(user);
        }
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(POOL_SIZE);
        config.setAutoCommit(false);
        config.setPoolName("hyperplane-store");
        dataSource = new HikariDataSource(config);
        Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
    }

    public static Database open(String url, String user, String password) {
        return new Database(url, user, password);
    }

    /**
     * The embedded default: an H2 file in {@code dataDir}. WRITE_DELAY=0 writes each commit to the
     * file before the commit returns, so a server killed with -9 loses nothing it acknowledged.
     */
    public static Database embedded(Path dataDir) {
        String file = dataDir.toAbsolutePath().resolve("hyperplane").toString();
        return new Database("jdbc:h2:file:" + file + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE", "sa", "");
    }

    public String url() {
        return url;
    }

    /** Work that reads and writes in one transaction. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /** Runs {@code work} in a transaction: committed when it returns, rolled back when it throws. */
    public <T> T inTransaction(Work<T> work) {
        try (Connection connection = dataSource.getConnection()) {
            try {
                T result = work.run(connection);
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StoreException("store: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
