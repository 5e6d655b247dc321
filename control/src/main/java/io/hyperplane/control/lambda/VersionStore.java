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
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Rows of {@code function_versions} ($LATEST and the published versions: configuration and code)
 * and {@code function_enis} (the ENIs each version runs on now, switched only when a new
 * configuration's ENIs are ready). Callers own the transaction.
 */
final class VersionStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String COLUMNS = "function_name, version, runtime, handler, role, description, timeout_seconds, memory_mb,"
            + " ephemeral_storage_mb, environment, code_sha256, code_size, subnet_ids, security_group_ids, vpc_id, revision_id, last_modified";

    private VersionStore() {
    }

    /**
     * One configuration of a function ($LATEST or a published version); {@code ephemeralStorage}
     * is /tmp's size in MB; {@code environment} null means none was given (shown without
     * Environment), {@code vpcId} "" a VpcConfig detached (shown empty).
     */
    record Version(String name, String version, String runtime, String handler, String role, String description, int timeout,
                   int memory, int ephemeralStorage, Map<String, String> environment, String codeSha256, long codeSize,
                   List<String> subnetIds, List<String> securityGroupIds, String vpcId, String revisionId, Instant lastModified) {
        boolean inVpc() {
            return !subnetIds.isEmpty();
        }

        boolean latest() {
            return version.equals(FunctionStore.LATEST);
        }

        /** This configuration with other code, as a new revision made at {@code at}. */
        Version withCode(FunctionCode code, String revision, Instant at) {
            return new Version(name, version, runtime, handler, role, description, timeout, memory, ephemeralStorage, environment, code.sha256(),
                    code.size(), subnetIds, securityGroupIds, vpcId, revision, at);
        }

        Version withDescription(String newDescription) {
            return new Version(name, version, runtime, handler, role, newDescription, timeout, memory, ephemeralStorage, environment, codeSha256,
                    codeSize, subnetIds, securityGroupIds, vpcId, revisionId, lastModified);
        }

        /** This configuration published as version {@code number}: a revision of its own, made at {@code at}. */
        Version publishedAs(int number, String revision, Instant at) {
            return new Version(name, Integer.toString(number), runtime, handler, role, description, timeout, memory, ephemeralStorage, environment,
                    codeSha256, codeSize, subnetIds, securityGroupIds, vpcId, revision, at);
        }
    }

    /**
     * A subnet a version runs in, with the shared ENI it runs on there (whose key is its sorted groups),
     * and its VPC's CIDR block (where the VPC's resolver is).
     */
    record Subnet(String subnetId, String eniId, List<String> securityGroupIds, String vpcCidr) {
    }

    static Optional<Version> get(Connection c, String account, String name, String version) throws SQLException {
        List<Version> found = versions(c, "SELECT " + COLUMNS + " FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?",
                account, name, version);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
    }

    /** $LATEST first, then published versions in order. */
    static List<Version> all(Connection c, String account, String name) throws SQLException {
        List<Version> all = versions(c, "SELECT " + COLUMNS + " FROM function_versions WHERE account_id = ? AND function_name = ?", account, name);
        all.sort((a, b) -> a.latest() ? -1 : b.latest() ? 1 : Integer.compare(Integer.parseInt(a.version()), Integer.parseInt(b.version())));
        return all;
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

    /** Stores a version with its code (the zip, base64), replacing one of the same number. */
    static void put(Connection c, String account, Version v, String codeBase64) throws SQLException {
        Sql.update(c, "DELETE FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?", account, v.name(), v.version());
        Sql.update(c, "INSERT INTO function_versions (account_id, " + COLUMNS + ", code_base64) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                account, v.name(), v.version(), v.runtime(), v.handler(), v.role(), v.description(), v.timeout(), v.memory(),
                v.ephemeralStorage(), v.environment() == null ? null : json(v.environment()), v.codeSha256(), v.codeSize(),
                String.join(",", v.subnetIds()), String.join(",", v.securityGroupIds()), v.vpcId(), v.revisionId(),
                Timestamp.from(v.lastModified()), codeBase64);
    }

    /** Replaces the configuration columns of a version, keeping its code. */
    static void update(Connection c, String account, Version v) throws SQLException {
        Sql.update(c, "UPDATE function_versions SET runtime = ?, handler = ?, role = ?, description = ?, timeout_seconds = ?, memory_mb = ?,"
                + " ephemeral_storage_mb = ?, environment = ?, code_sha256 = ?, code_size = ?, subnet_ids = ?, security_group_ids = ?, vpc_id = ?,"
                + " revision_id = ?, last_modified = ? WHERE account_id = ? AND function_name = ? AND version = ?", v.runtime(), v.handler(),
                v.role(), v.description(), v.timeout(), v.memory(), v.ephemeralStorage(), v.environment() == null ? null : json(v.environment()),
                v.codeSha256(), v.codeSize(), String.join(",", v.subnetIds()), String.join(",", v.securityGroupIds()), v.vpcId(), v.revisionId(),
                Timestamp.from(v.lastModified()), account, v.name(), v.version());
    }

    /** A version's code (the zip, base64), or null if there is no such version. */
    static String code(Connection c, String account, String name, String version) throws SQLException {
        List<String> code = Sql.strings(c, "SELECT code_base64 FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?",
                account, name, version);
        return code.isEmpty() ? null : code.getFirst();
    }

    static void setLatestCode(Connection c, String account, String name, String codeBase64) throws SQLException {
        Sql.update(c, "UPDATE function_versions SET code_base64 = ? WHERE account_id = ? AND function_name = ? AND version = ?",
                codeBase64, account, name, FunctionStore.LATEST);
    }

    /** One published version and what it runs on; false if there is no such version. */
    static boolean delete(Connection c, String account, String name, String version) throws SQLException {
        if (Sql.update(c, "DELETE FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?", account, name, version) == 0) {
            return false;
        }
        Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ? AND version = ?", account, name, version);
        return true;
    }

    /** Every version of the function and what they run on. */
    static void deleteAll(Connection c, String account, String name) throws SQLException {
        releaseEnis(c, account, name);
        Sql.update(c, "DELETE FROM function_versions WHERE account_id = ? AND function_name = ?", account, name);
    }

    // ---- What each version runs on (function_enis) ---------------------------------------------

    static List<String> enis(Connection c, String account, String name, String version) throws SQLException {
        return Sql.strings(c, "SELECT eni_id FROM function_enis WHERE account_id = ? AND function_name = ? AND version = ?", account, name, version);
    }

    /** The version runs on these ENIs from now on, and on no others. */
    static void runOn(Connection c, String account, String name, String version, Collection<String> enis) throws SQLException {
        Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ? AND version = ?", account, name, version);
        for (String eni : new TreeSet<>(enis)) {
            Sql.update(c, "INSERT INTO function_enis (account_id, function_name, version, eni_id) VALUES (?, ?, ?, ?)", account, name, version, eni);
        }
    }

    /** No version of the function runs on anything (it idles, or is deleted). */
    static void releaseEnis(Connection c, String account, String name) throws SQLException {
        Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ?", account, name);
    }

    /** The subnets the version runs in now, with their ENIs, by subnet id. */
    static List<Subnet> subnets(Connection c, String account, String name, String version) throws SQLException {
        List<Subnet> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT e.subnet_id, e.id, e.group_key, v.cidr FROM function_enis f JOIN network_interfaces e ON e.id = f.eni_id"
                + " JOIN subnets n ON n.id = e.subnet_id JOIN vpcs v ON v.id = n.vpc_id"
                + " WHERE f.account_id = ? AND f.function_name = ? AND f.version = ? ORDER BY e.subnet_id", account, name, version);
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new Subnet(r.getString(1), r.getString(2), List.of(r.getString(3).split(",")), r.getString(4)));
            }
        }
        return out;
    }

    private static List<String> split(String joined) {
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
