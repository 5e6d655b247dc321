package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Rows of {@code function_event_invoke_configs}. Callers own the transaction; the API's writes run
 * under the account's lock. A row holds what PutFunctionEventInvokeConfig set and nothing more (a
 * member not set is null); {@link #find} and {@link #effective} fill in Lambda's defaults.
 */
public final class EventInvokeConfigStore {
    private static final String COLUMNS = "qualifier, maximum_retry_attempts, maximum_event_age_seconds, on_success, on_failure, last_modified";
    /** $LATEST first, then the versions in the order they were published (Lambda lists a function's versions so). */
    private static final Comparator<Row> LISTING = Comparator.comparing((Row r) -> !r.qualifier().equals(FunctionStore.LATEST))
            .thenComparing(r -> r.qualifier().equals(FunctionStore.LATEST) ? 0 : Integer.parseInt(r.qualifier()));

    private EventInvokeConfigStore() {
    }

    /**
     * One qualifier's configuration as its caller set it: a null retry count or event age was not
     * set, a null destination is none.
     */
    record Row(String qualifier, Integer maximumRetryAttempts, Integer maximumEventAgeInSeconds, String onSuccess, String onFailure,
               Instant lastModified) {
        Row {
            Objects.requireNonNull(qualifier, "qualifier");
            Objects.requireNonNull(lastModified, "lastModified");
        }

        /** What applies: the members set, Lambda's defaults for the others. */
        EventInvokeConfig effective(String account, String function) {
            return new EventInvokeConfig(account, function, qualifier,
                    Objects.requireNonNullElse(maximumRetryAttempts, EventInvokeConfig.DEFAULT_RETRY_ATTEMPTS),
                    Objects.requireNonNullElse(maximumEventAgeInSeconds, EventInvokeConfig.DEFAULT_EVENT_AGE_SECONDS), onSuccess, onFailure,
                    lastModified);
        }
    }

    /** The configuration of one qualifier ($LATEST or a version number), if it has one. */
    public static Optional<EventInvokeConfig> find(Connection c, String account, String function, String qualifier) throws SQLException {
        return get(c, account, function, qualifier).map(row -> row.effective(account, function));
    }

    /** The configuration that applies: the qualifier's own, or Lambda's defaults. */
    public static EventInvokeConfig effective(Connection c, String account, String function, String qualifier) throws SQLException {
        return find(c, account, function, qualifier).orElseGet(() -> EventInvokeConfig.defaults(account, function, qualifier));
    }

    /** One qualifier's row as it was set, if it has one. */
    static Optional<Row> get(Connection c, String account, String function, String qualifier) throws SQLException {
        List<Row> rows = rows(c, "SELECT " + COLUMNS + " FROM function_event_invoke_configs WHERE account_id = ? AND function_name = ? AND qualifier = ?",
                account, function, qualifier);
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
    }

    /** Every configuration of the function: $LATEST's first, then its versions' by number. */
    static List<Row> list(Connection c, String account, String function) throws SQLException {
        List<Row> rows = rows(c, "SELECT " + COLUMNS + " FROM function_event_invoke_configs WHERE account_id = ? AND function_name = ?",
                account, function);
        rows.sort(LISTING);
        return rows;
    }

    /**
     * Sets the qualifier's configuration to {@code row}, replacing all of any it had
     * (PutFunctionEventInvokeConfig). The function's version must exist (a foreign key).
     */
    static void put(Connection c, String account, String function, Row row) throws SQLException {
        int updated = Sql.update(c, "UPDATE function_event_invoke_configs SET maximum_retry_attempts = ?, maximum_event_age_seconds = ?,"
                        + " on_success = ?, on_failure = ?, last_modified = ? WHERE account_id = ? AND function_name = ? AND qualifier = ?",
                row.maximumRetryAttempts(), row.maximumEventAgeInSeconds(), row.onSuccess(), row.onFailure(), Timestamp.from(row.lastModified()),
                account, function, row.qualifier());
        if (updated == 0) {
            Sql.update(c, "INSERT INTO function_event_invoke_configs (account_id, function_name, qualifier, maximum_retry_attempts,"
                            + " maximum_event_age_seconds, on_success, on_failure, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    account, function, row.qualifier(), row.maximumRetryAttempts(), row.maximumEventAgeInSeconds(), row.onSuccess(), row.onFailure(),
                    Timestamp.from(row.lastModified()));
        }
    }

    /**
     * Changes the qualifier's existing configuration by {@code merge} (UpdateFunctionEventInvokeConfig
     * keeps what the request does not give); empty, and nothing written, when it has none.
     */
    static Optional<Row> update(Connection c, String account, String function, String qualifier, UnaryOperator<Row> merge) throws SQLException {
        Optional<Row> existing = get(c, account, function, qualifier);
        if (existing.isEmpty()) {
            return Optional.empty();
        }
        Row merged = merge.apply(existing.get());
        if (!merged.qualifier().equals(qualifier)) {
            throw new IllegalArgumentException("an update of " + function + ":" + qualifier + " cannot move it to " + merged.qualifier());
        }
        put(c, account, function, merged);
        return Optional.of(merged);
    }

    /** Removes the qualifier's configuration; false if it had none. */
    static boolean delete(Connection c, String account, String function, String qualifier) throws SQLException {
        return Sql.update(c, "DELETE FROM function_event_invoke_configs WHERE account_id = ? AND function_name = ? AND qualifier = ?",
                account, function, qualifier) > 0;
    }

    private static List<Row> rows(Connection c, String sql, Object... args) throws SQLException {
        List<Row> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, sql, args); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new Row(r.getString(1), r.getObject(2, Integer.class), r.getObject(3, Integer.class), r.getString(4),
                        r.getString(5), r.getTimestamp(6).toInstant()));
            }
        }
        return out;
    }
}
