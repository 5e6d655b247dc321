package io.hyperplane.control.lambda;

import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Rows of {@code event_invocations} (the durable queue of asynchronous invocations) and
 * {@code event_invocation_counts} (what became of each function's events). Callers own the
 * transaction. An event's life:
 * <pre>
 *   insert ──► queued ──claim──► running ──end──► (deleted: succeeded or dead)
 *                ▲                  │
 *                └──── retry ───────┤   (due later, counts updated)
 *                └── lease expired ─┘   (control plane died or the attempt hung: redelivered)
 * </pre>
 * Every change that ends or retries an attempt names the claim it belongs to, so an attempt whose
 * lease ran out changes nothing: the event's next claim owns it.
 */
public final class EventStore {
    private static final String QUEUED = "queued";
    private static final String RUNNING = "running";
    private static final String COLUMNS = "e.id, e.request_id, e.account_id, e.region, e.function_name, e.qualifier, e.network_model, e.payload,"
            + " e.attempts, e.function_errors, e.system_failures, e.claims, e.enqueued_at, e.due_at";

    private EventStore() {
    }

    /** An event as it was enqueued (what is needed to run it later). */
    public record NewEvent(String requestId, String account, String region, String function, String qualifier, String networkModel, byte[] payload) {
        public NewEvent {
            if (requestId == null || account == null || region == null || function == null || qualifier == null || payload == null) {
                throw new IllegalArgumentException("event " + requestId + ": request id, account, region, function, qualifier and payload are required");
            }
        }
    }

    /**
     * A queued or claimed event. {@code attempts}: times the function ran (Lambda's
     * approximateInvokeCount); {@code functionErrors} and {@code systemFailures}: the attempts that
     * failed each way (they set the next delay); {@code claim}: which claim this copy belongs to.
     */
    public record Event(long id, NewEvent event, int attempts, int functionErrors, int systemFailures, int claim, long enqueuedAt, long dueAt) {
        public String account() {
            return event.account();
        }

        public String function() {
            return event.function();
        }
    }

    /** One function's events: waiting, running, and what became of the others since the store was made. */
    public record Counts(String function, long queued, long inFlight, long succeeded, long retried, long dead, long redelivered) {
    }

    /** What a counted outcome adds to. */
    public enum Counter {
        SUCCEEDED("succeeded"), RETRIED("retried"), DEAD("dead"), REDELIVERED("redelivered");

        private final String column;

        Counter(String column) {
            this.column = column;
        }
    }

    public static void insert(Connection c, NewEvent e, long now) throws SQLException {
        Sql.update(c, "INSERT INTO event_invocations (request_id, account_id, region, function_name, qualifier, network_model, payload, state,"
                        + " attempts, function_errors, system_failures, claims, enqueued_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?)",
                e.requestId(), e.account(), e.region(), e.function(), e.qualifier(), e.networkModel(), e.payload(), QUEUED, now, now);
    }

    /**
     * Claims up to {@code limit} of the account's events due at {@code now}, oldest due first: each
     * becomes running until now + its version's timeout + {@code allowance} (a version gone since
     * gets Lambda's longest timeout; the attempt finds it gone at once anyway).
     */
    public static List<Event> claim(Connection c, String account, long now, long allowanceMillis, int limit) throws SQLException {
        List<Event> claimed = new ArrayList<>();
        List<Long> timeouts = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT " + COLUMNS + ", v.timeout_seconds FROM event_invocations e"
                + " LEFT JOIN function_versions v ON v.account_id = e.account_id AND v.function_name = e.function_name AND v.version = e.qualifier"
                + " WHERE e.account_id = ? AND e.state = ? AND e.due_at <= ? ORDER BY e.due_at, e.id LIMIT ?", account, QUEUED, now, limit);
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                Event e = event(r);
                claimed.add(new Event(e.id(), e.event(), e.attempts(), e.functionErrors(), e.systemFailures(), e.claim() + 1, e.enqueuedAt(), e.dueAt()));
                int timeout = r.getInt(15);
                timeouts.add(r.wasNull() ? LambdaConstraints.TIMEOUT.max() * 1000L : timeout * 1000L);
            }
        }
        if (claimed.isEmpty()) {
            return claimed;
        }
        try (PreparedStatement s = c.prepareStatement("UPDATE event_invocations SET state = ?, claims = ?, lease_until = ? WHERE id = ? AND claims = ?")) {
            for (int i = 0; i < claimed.size(); i++) {
                Event e = claimed.get(i);
                s.setString(1, RUNNING);
                s.setInt(2, e.claim());
                s.setLong(3, now + timeouts.get(i) + allowanceMillis);
                s.setLong(4, e.id());
                s.setInt(5, e.claim() - 1);
                s.addBatch();
            }
            s.executeBatch();
        }
        return claimed;
    }

    /** Ends the claimed event (succeeded or dead); false when its claim is no longer current (nothing changed). */
    public static boolean end(Connection c, Event e) throws SQLException {
        return Sql.update(c, "DELETE FROM event_invocations WHERE id = ? AND claims = ?", e.id(), e.claim()) == 1;
    }

    /** Queues the claimed event again, due at {@code dueAt}, with its counts as given; false when its claim is no longer current. */
    public static boolean retry(Connection c, Event e, int attempts, int functionErrors, int systemFailures, long dueAt) throws SQLException {
        return Sql.update(c, "UPDATE event_invocations SET state = ?, attempts = ?, function_errors = ?, system_failures = ?, due_at = ?,"
                + " lease_until = NULL WHERE id = ? AND claims = ?", QUEUED, attempts, functionErrors, systemFailures, dueAt, e.id(), e.claim()) == 1;
    }

    /**
     * Running events whose lease ended before {@code leasesEndedBefore} become queued and due at
     * {@code now}, each counted as redelivered (its attempt may have run: at least once). At start,
     * every running event's lease is over: pass {@link Long#MAX_VALUE}. Returns how many.
     */
    public static int requeueExpired(Connection c, long leasesEndedBefore, long now) throws SQLException {
        Map<List<String>, Long> perFunction = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT account_id, function_name, COUNT(*) FROM event_invocations"
                + " WHERE state = ? AND lease_until < ? GROUP BY account_id, function_name", RUNNING, leasesEndedBefore);
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                perFunction.put(List.of(r.getString(1), r.getString(2)), r.getLong(3));
            }
        }
        if (perFunction.isEmpty()) {
            return 0;
        }
        for (Map.Entry<List<String>, Long> f : perFunction.entrySet()) {
            ensureCounts(c, f.getKey().get(0), f.getKey().get(1));
            add(c, f.getKey().get(0), f.getKey().get(1), Counter.REDELIVERED, f.getValue());
        }
        return Sql.update(c, "UPDATE event_invocations SET state = ?, due_at = ?, lease_until = NULL WHERE state = ? AND lease_until < ?",
                QUEUED, now, RUNNING, leasesEndedBefore);
    }

    /** When the next queued event is due; empty when none is queued. */
    public static OptionalLong nextDue(Connection c) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT MIN(due_at) FROM event_invocations WHERE state = ?", QUEUED);
             ResultSet r = s.executeQuery()) {
            r.next();
            long due = r.getLong(1);
            return r.wasNull() ? OptionalLong.empty() : OptionalLong.of(due);
        }
    }

    /** Events not yet ended, per account (what each account's bound counts). */
    public static Map<String, Long> pendingPerAccount(Connection c) throws SQLException {
        Map<String, Long> out = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT account_id, COUNT(*) FROM event_invocations GROUP BY account_id");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.put(r.getString(1), r.getLong(2));
            }
        }
        return out;
    }

    /**
     * Makes the function's counts row if it has none (its own statement, so {@link #add} is a plain
     * UPDATE). Two callers may race to make it: the loser's insert fails on the key, and the caller
     * runs it in a transaction of its own for that reason.
     */
    public static void ensureCounts(Connection c, String account, String function) throws SQLException {
        if (Sql.count(c, "SELECT COUNT(*) FROM event_invocation_counts WHERE account_id = ? AND function_name = ?", account, function) == 0) {
            Sql.update(c, "INSERT INTO event_invocation_counts (account_id, function_name, succeeded, retried, dead, redelivered)"
                    + " VALUES (?, ?, 0, 0, 0, 0)", account, function);
        }
    }

    /** Adds to one of the function's counts (its row made by {@link #ensureCounts}). */
    public static void add(Connection c, String account, String function, Counter counter, long n) throws SQLException {
        Sql.update(c, "UPDATE event_invocation_counts SET " + counter.column + " = " + counter.column + " + ? WHERE account_id = ? AND function_name = ?",
                n, account, function);
    }

    /** Every function of the account that has had events, by name. */
    public static List<Counts> counts(Connection c, String account) throws SQLException {
        Map<String, long[]> live = new LinkedHashMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT function_name, state, COUNT(*) FROM event_invocations WHERE account_id = ?"
                + " GROUP BY function_name, state", account);
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                live.computeIfAbsent(r.getString(1), f -> new long[2])[QUEUED.equals(r.getString(2)) ? 0 : 1] += r.getLong(3);
            }
        }
        Map<String, Counts> out = new TreeMap<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT function_name, succeeded, retried, dead, redelivered FROM event_invocation_counts"
                + " WHERE account_id = ?", account);
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                long[] l = live.getOrDefault(r.getString(1), new long[2]);
                out.put(r.getString(1), new Counts(r.getString(1), l[0], l[1], r.getLong(2), r.getLong(3), r.getLong(4), r.getLong(5)));
            }
        }
        // A destination's first events may wait before its counts row is made (on their first end).
        live.forEach((function, l) -> out.putIfAbsent(function, new Counts(function, l[0], l[1], 0, 0, 0, 0)));
        return List.copyOf(out.values());
    }

    private static Event event(ResultSet r) throws SQLException {
        NewEvent e = new NewEvent(r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6), r.getString(7), r.getBytes(8));
        return new Event(r.getLong(1), e, r.getInt(9), r.getInt(10), r.getInt(11), r.getInt(12), r.getLong(13), r.getLong(14));
    }
}
