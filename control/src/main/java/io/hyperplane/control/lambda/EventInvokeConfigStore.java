package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** Rows of {@code function_event_invoke_configs}. Callers own the transaction. */
public final class EventInvokeConfigStore {
    private EventInvokeConfigStore() {
    }

    /** The configuration of one qualifier ($LATEST or a version number), if it has one. */
    public static Optional<EventInvokeConfig> find(Connection c, String account, String function, String qualifier) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT maximum_retry_attempts, maximum_event_age_seconds, on_success, on_failure, last_modified"
                + " FROM function_event_invoke_configs WHERE account_id = ? AND function_name = ? AND qualifier = ?", account, function, qualifier);
             ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                return Optional.empty();
            }
            return Optional.of(new EventInvokeConfig(account, function, qualifier, r.getInt(1), r.getInt(2), r.getString(3), r.getString(4),
                    r.getTimestamp(5).toInstant()));
        }
    }

    /** The configuration that applies: the qualifier's own, or Lambda's defaults. */
    public static EventInvokeConfig effective(Connection c, String account, String function, String qualifier) throws SQLException {
        return find(c, account, function, qualifier).orElseGet(() -> EventInvokeConfig.defaults(account, function, qualifier));
    }
}
