package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Rows of {@code functions}: one per function, its lifecycle (written only through
 * {@link FunctionLifecycle}), reserved concurrency, idle clock and version counter. Its
 * configurations are {@link VersionStore}'s. Callers own the transaction.
 */
final class FunctionStore {
    /** The version an unqualified function name means. */
    static final String LATEST = "$LATEST";

    private FunctionStore() {
    }

    /** A function as its row has it. */
    record Row(FunctionStatus status, Integer reservedConcurrency, Instant lastInvokedAt) {
    }

    /** A function of an account. */
    record Key(String account, String name) {
    }

    static boolean exists(Connection c, String account, String name) throws SQLException {
        return Sql.count(c, "SELECT COUNT(*) FROM functions WHERE account_id = ? AND name = ?", account, name) > 0;
    }

    static Optional<Row> get(Connection c, String account, String name) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT state, state_reason, state_reason_code, last_update_status, last_update_reason,"
                + " last_update_reason_code, pending_since, reserved_concurrency, last_invoked_at FROM functions WHERE account_id = ? AND name = ?",
                account, name); ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                return Optional.empty();
            }
            Timestamp pending = r.getTimestamp(7);
            FunctionStatus status = new FunctionStatus(FunctionState.ofWire(r.getString(1)), r.getString(2), r.getString(3),
                    LastUpdateStatus.ofWire(r.getString(4)), r.getString(5), r.getString(6), pending == null ? null : pending.toInstant());
            return Optional.of(new Row(status, (Integer) r.getObject(8), r.getTimestamp(9).toInstant()));
        }
    }

    static List<String> names(Connection c, String account) throws SQLException {
        return Sql.strings(c, "SELECT name FROM functions WHERE account_id = ? ORDER BY name", account);
    }

    /** Functions whose network is in the making: Pending, or with an update InProgress. */
    static List<Key> unsettled(Connection c) throws SQLException {
        return keys(c, "SELECT account_id, name FROM functions WHERE state = ? OR last_update_status = ?", FunctionState.PENDING.wire(),
                LastUpdateStatus.IN_PROGRESS.wire());
    }

    /** Active functions, not being updated, last invoked before {@code cutoff}. */
    static List<Key> idleSince(Connection c, Instant cutoff) throws SQLException {
        return keys(c, "SELECT account_id, name FROM functions WHERE state = ? AND last_update_status <> ? AND last_invoked_at < ?",
                FunctionState.ACTIVE.wire(), LastUpdateStatus.IN_PROGRESS.wire(), Timestamp.from(cutoff));
    }

    private static List<Key> keys(Connection c, String sql, Object... args) throws SQLException {
        List<Key> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, sql, args); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new Key(r.getString(1), r.getString(2)));
            }
        }
        return out;
    }

    /** A new function, in the status {@link FunctionLifecycle#create} gives it, invoked (for the idle clock) now. */
    static void insert(Connection c, String account, String name, FunctionLifecycle.Transition created, Instant now) throws SQLException {
        if (created.from() != null) {
            throw new IllegalArgumentException("function " + name + ": created from " + created.from() + ", not from nothing");
        }
        FunctionStatus s = created.to();
        Sql.update(c, "INSERT INTO functions (account_id, name, state, state_reason, state_reason_code, last_update_status, last_update_reason,"
                + " last_update_reason_code, pending_since, last_invoked_at, next_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                account, name, s.state().wire(), s.stateReason(), s.stateReasonCode(), s.lastUpdate().wire(), s.lastUpdateReason(),
                s.lastUpdateReasonCode(), timestamp(s.pendingSince()), Timestamp.from(now), Timestamp.from(now));
    }

    /**
     * Writes the move's status if the function is still where the move starts; false (nothing
     * written) if it moved meanwhile or is gone.
     */
    static boolean write(Connection c, String account, String name, FunctionLifecycle.Transition t) throws SQLException {
        FunctionStatus s = t.to();
        return Sql.update(c, "UPDATE functions SET state = ?, state_reason = ?, state_reason_code = ?, last_update_status = ?,"
                + " last_update_reason = ?, last_update_reason_code = ?, pending_since = ? WHERE account_id = ? AND name = ? AND state = ?"
                + " AND last_update_status = ?", s.state().wire(), s.stateReason(), s.stateReasonCode(), s.lastUpdate().wire(),
                s.lastUpdateReason(), s.lastUpdateReasonCode(), timestamp(s.pendingSince()), account, name, t.from().state().wire(),
                t.from().lastUpdate().wire()) > 0;
    }

    /** An invoke attempt: the idle clock starts again. */
    static void invoked(Connection c, String account, String name, Instant at) throws SQLException {
        Sql.update(c, "UPDATE functions SET last_invoked_at = ? WHERE account_id = ? AND name = ?", Timestamp.from(at), account, name);
    }

    /** The number the next published version gets; the counter moves on. */
    static int takeVersionNumber(Connection c, String account, String name) throws SQLException {
        int number = (int) Sql.count(c, "SELECT next_version FROM functions WHERE account_id = ? AND name = ?", account, name);
        Sql.update(c, "UPDATE functions SET next_version = next_version + 1 WHERE account_id = ? AND name = ?", account, name);
        return number;
    }

    /** Reserved concurrency; null takes the reservation away. */
    static void reserveConcurrency(Connection c, String account, String name, Integer reserved) throws SQLException {
        Sql.update(c, "UPDATE functions SET reserved_concurrency = ? WHERE account_id = ? AND name = ?", reserved, account, name);
    }

    /** What the account's other functions reserve. */
    static long reservedByOthers(Connection c, String account, String name) throws SQLException {
        return Sql.count(c, "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions WHERE account_id = ? AND name <> ?", account, name);
    }

    /** The function with every version and what they run on. */
    static void delete(Connection c, String account, String name) throws SQLException {
        VersionStore.deleteAll(c, account, name);
        Sql.update(c, "DELETE FROM functions WHERE account_id = ? AND name = ?", account, name);
    }

    private static Timestamp timestamp(Instant at) {
        return at == null ? null : Timestamp.from(at);
    }
}
