package io.hyperplane.control.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Small JDBC helpers for statements whose parameters are given in order. */
public final class Sql {
    private Sql() {
    }

    /** Runs an INSERT/UPDATE/DELETE; returns the rows changed. */
    public static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args)) {
            return s.executeUpdate();
        }
    }

    public static long count(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args); ResultSet r = s.executeQuery()) {
            r.next();
            return r.getLong(1);
        }
    }

    /** The first column of every row, as strings. */
    public static List<String> strings(Connection c, String sql, Object... args) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement s = prepare(c, sql, args); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(r.getString(1));
            }
        }
        return out;
    }

    /**
     * The next value of a named counter that only grows (configuration versions), taken under a row
     * lock (portable across H2 and PostgreSQL). Numbers a resource holds come from {@link IdPool},
     * which hands released ones out again.
     */
    public static long allocate(Connection c, String name) throws SQLException {
        update(c, "UPDATE allocators SET next_value = next_value + 1 WHERE name = ?", name);
        return count(c, "SELECT next_value - 1 FROM allocators WHERE name = ?", name);
    }

    public static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement s = c.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            s.setObject(i + 1, args[i]);
        }
        return s;
    }
}
