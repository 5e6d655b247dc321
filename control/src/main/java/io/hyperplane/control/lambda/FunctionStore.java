package io.hyperplane.control.lambda;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Rows of {@code functions} (one per function: its lifecycle) and {@code function_versions} ($LATEST
 * and the published versions: their configuration). Callers own the transaction.
 */
final class FunctionStore {
    static final String LATEST = "$LATEST";
    static final String PENDING = "Pending";
    static final String ACTIVE = "Active";
    static final String INACTIVE = "Inactive";
    static final String FAILED = "Failed";
    static final String SUCCESSFUL = "Successful";
    static final String IN_PROGRESS = "InProgress";
    private static final ObjectMapper JSON = new ObjectMapper();

    private FunctionStore() {
    }

    /** One configuration of a function ($LATEST or a published version); {@code ephemeralStorage} is /tmp's size in MB. */
    record Version(String name, String version, String runtime, String handler, String role, String description, int timeout,
                   int memory, int ephemeralStorage, Map<String, String> environment, String codeSha256, long codeSize,
                   List<String> subnetIds, List<String> securityGroupIds, String vpcId, String revisionId, Instant lastModified) {
        boolean inVpc() {
            return !subnetIds.isEmpty();
        }
    }

    /** The function's lifecycle: State and LastUpdateStatus with their reasons. */
    record Lifecycle(String state, String stateReason, String stateReasonCode, String lastUpdateStatus, String lastUpdateReason,
                     String lastUpdateReasonCode, Instant pendingSince, Integer reservedConcurrency, int nextVersion) {
        boolean updating() {
            return IN_PROGRESS.equals(lastUpdateStatus);
        }
    }

    static boolean exists(Connection c, String account, String name) throws SQLException {
        return Sql.count(c, "SELECT COUNT(*) FROM functions WHERE account_id = ? AND name = ?", account, name) > 0;
    }

    static Optional<Lifecycle> lifecycle(Connection c, String account, String name) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT state, state_reason, state_reason_code, last_update_status, last_update_reason,"
                + " last_update_reason_code, pending_since, reserved_concurrency, next_version FROM functions WHERE account_id = ? AND name = ?",
                account, name); ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                return Optional.empty();
            }
            Timestamp pending = r.getTimestamp(7);
            return Optional.of(new Lifecycle(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6),
                    pending == null ? null : pending.toInstant(), (Integer) r.getObject(8), r.getInt(9)));
        }
    }

    private static final String VERSION_COLUMNS = "function_name, version, runtime, handler, role, description, timeout_seconds, memory_mb,"
            + " ephemeral_storage_mb, environment, code_sha256, code_size, subnet_ids, security_group_ids, vpc_id, revision_id, last_modified";

    static Optional<Version> version(Connection c, String account, String name, String version) throws SQLException {
        List<Version> found = versions(c, "SELECT " + VERSION_COLUMNS + " FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?",
                account, name, version);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
    }

    /** $LATEST first, then published versions in order. */
    static List<Version> allVersions(Connection c, String account, String name) throws SQLException {
        List<Version> all = versions(c, "SELECT " + VERSION_COLUMNS + " FROM function_versions WHERE account_id = ? AND function_name = ?", account, name);
        all.sort((a, b) -> a.version().equals(LATEST) ? -1 : b.version().equals(LATEST) ? 1
                : Integer.compare(Integer.parseInt(a.version()), Integer.parseInt(b.version())));
        return all;
    }

    static List<String> names(Connection c, String account) throws SQLException {
        return Sql.strings(c, "SELECT name FROM functions WHERE account_id = ? ORDER BY name", account);
    }

    private static List<Version> versions(Connection c, String sql, Object... args) throws SQLException {
        List<Version> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, sql, args); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new Version(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6),
                        r.getInt(7), r.getInt(8), r.getInt(9), environment(r.getString(10)), r.getString(11), r.getLong(12),
                        split(r.getString(13)), split(r.getString(14)), r.getString(15), r.getString(16), r.getTimestamp(17).toInstant()));
            }
        }
        return out;
    }

    static void insertFunction(Connection c, String account, String name, Instant now) throws SQLException {
        Sql.update(c, "INSERT INTO functions (account_id, name, state, state_reason, state_reason_code, last_update_status, pending_since,"
                + " last_invoked_at, next_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)", account, name, PENDING,
                "The function is being created.", "Creating", SUCCESSFUL, Timestamp.from(now), Timestamp.from(now), Timestamp.from(now));
    }

    static void putVersion(Connection c, String account, Version v, String codeBase64) throws SQLException {
        Sql.update(c, "DELETE FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?", account, v.name(), v.version());
        Sql.update(c, "INSERT INTO function_versions (account_id, " + VERSION_COLUMNS + ", code_base64) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                account, v.name(), v.version(), v.runtime(), v.handler(), v.role(), v.description(), v.timeout(), v.memory(),
                v.ephemeralStorage(), v.environment() == null ? null : json(v.environment()), v.codeSha256(), v.codeSize(),
                String.join(",", v.subnetIds()), String.join(",", v.securityGroupIds()), v.vpcId(), v.revisionId(),
                Timestamp.from(v.lastModified()), codeBase64);
    }

    /** Replaces the configuration columns of a version, keeping its code. */
    static void updateVersion(Connection c, String account, Version v) throws SQLException {
        Sql.update(c, "UPDATE function_versions SET runtime = ?, handler = ?, role = ?, description = ?, timeout_seconds = ?, memory_mb = ?,"
                + " ephemeral_storage_mb = ?, environment = ?, code_sha256 = ?, code_size = ?, subnet_ids = ?, security_group_ids = ?, vpc_id = ?,"
                + " revision_id = ?, last_modified = ? WHERE account_id = ? AND function_name = ? AND version = ?", v.runtime(), v.handler(),
                v.role(), v.description(), v.timeout(), v.memory(), v.ephemeralStorage(), v.environment() == null ? null : json(v.environment()),
                v.codeSha256(), v.codeSize(), String.join(",", v.subnetIds()), String.join(",", v.securityGroupIds()), v.vpcId(), v.revisionId(),
                Timestamp.from(v.lastModified()), account, v.name(), v.version());
    }

    static String codeBase64(Connection c, String account, String name, String version) throws SQLException {
        List<String> code = Sql.strings(c, "SELECT code_base64 FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?",
                account, name, version);
        return code.isEmpty() ? null : code.getFirst();
    }

    static void setCode(Connection c, String account, String name, String codeBase64) throws SQLException {
        Sql.update(c, "UPDATE function_versions SET code_base64 = ? WHERE account_id = ? AND function_name = ? AND version = ?",
                codeBase64, account, name, LATEST);
    }

    static void startUpdate(Connection c, String account, String name, Instant now) throws SQLException {
        Sql.update(c, "UPDATE functions SET last_update_status = ?, last_update_reason = ?, last_update_reason_code = NULL, pending_since = ?"
                + " WHERE account_id = ? AND name = ?", IN_PROGRESS, "The function is being updated.", Timestamp.from(now), account, name);
    }

    static void delete(Connection c, String account, String name) throws SQLException {
        Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ?", account, name);
        Sql.update(c, "DELETE FROM function_versions WHERE account_id = ? AND function_name = ?", account, name);
        Sql.update(c, "DELETE FROM functions WHERE account_id = ? AND name = ?", account, name);
    }

    static List<String> split(String joined) {
        return joined == null || joined.isEmpty() ? List.of() : Arrays.asList(joined.split(","));
    }

    private static Map<String, String> environment(String json) {
        if (json == null) {
            return null;
        }
        try {
            return JSON.readValue(json, new TypeReference<LinkedHashMap<String, String>>() {
            });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored environment is not JSON: " + e.getMessage(), e);
        }
    }

    private static String json(Map<String, String> environment) {
        try {
            return JSON.writeValueAsString(environment);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
