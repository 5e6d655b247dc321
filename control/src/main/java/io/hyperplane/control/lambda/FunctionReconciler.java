package io.hyperplane.control.lambda;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.ec2.NetworkInterfaces;
import io.hyperplane.control.ec2.SubnetAddresses;
import io.hyperplane.control.iam.IamApi;
import io.hyperplane.control.lambda.FunctionStore.Lifecycle;
import io.hyperplane.control.lambda.FunctionStore.Version;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.concurrent.Rounds;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Cidr;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Drives functions to their networks: desired state (each function version's subnets and
 * security groups) against actual state (Hyperplane ENIs and what the nodes run). One thread, one
 * round at a time; every step is a transaction and every decision is re-derived from the store,
 * so a round interrupted by a crash is simply run again after restart.
 * <p>A round:
 * <ol>
 * <li>Each function that is Pending (created, or restoring) or has an update InProgress: check the
 * role may manage ENIs, the subnets and groups still exist, then find or create the ENI of each
 * (account, subnet, sorted group set) key (an address from the subnet, within the per-VPC quota).
 * When all its ENIs are in use the function switches to them (Active / Successful); a failure
 * gives Failed (or LastUpdateStatus Failed, the old configuration staying in force) with Lambda's
 * reason code; programming that does not finish in time is an InternalError.</li>
 * <li>A new ENI is published to the nodes; it becomes in-use once every live node has applied a
 * configuration version containing it.</li>
 * <li>Functions not invoked for the idle period become Inactive (Idle) and release their ENIs.</li>
 * <li>An ENI nothing uses (no function version, no execution environment, no pending function) is
 * deleted after the grace period.</li>
 * </ol>
 */
public final class FunctionReconciler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FunctionReconciler.class);
    /**
     * A legacy (per-environment) ENI is unused from its creation until its environment binds it,
     * and the worker deletes it when the environment goes: collected here only if a worker died
     * and left it, after this long.
     */
    private static final Duration LEGACY_GRACE = Duration.ofMinutes(5);
    static final List<String> ENI_ACTIONS = List.of("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface");

    /** Quota and timings; {@code period} is how often a round runs when nothing asks for one. */
    public record Settings(int eniQuotaPerVpc, Duration eniGrace, Duration idleAfter, Duration programmingTimeout, Duration period) {
        public static final Settings DEFAULTS = new Settings(500, Duration.ofSeconds(30), Duration.ofDays(14), Duration.ofSeconds(60),
                Duration.ofSeconds(1));

        public Settings {
            if (eniQuotaPerVpc < 1) {
                throw new IllegalArgumentException("ENI quota per VPC " + eniQuotaPerVpc + ": must be at least 1");
            }
        }

        public Settings withEniQuotaPerVpc(int quota) {
            return new Settings(quota, eniGrace, idleAfter, programmingTimeout, period);
        }

        public Settings withEniGrace(Duration grace) {
            return new Settings(eniQuotaPerVpc, grace, idleAfter, programmingTimeout, period);
        }

        public Settings withIdleAfter(Duration idle) {
            return new Settings(eniQuotaPerVpc, eniGrace, idle, programmingTimeout, period);
        }

        public Settings withProgrammingTimeout(Duration timeout) {
            return new Settings(eniQuotaPerVpc, eniGrace, idleAfter, timeout, period);
        }
    }

    private final Database db;
    private final IamApi iam;
    private final NodeConfigPublisher publisher;
    private final NodeRegistry nodes;
    private final Settings settings;
    private final Clock clock;
    private final Rounds rounds;

    public FunctionReconciler(Database db, IamApi iam, NodeConfigPublisher publisher, NodeRegistry nodes, Settings settings, Clock clock) {
        this.db = db;
        this.iam = iam;
        this.publisher = publisher;
        this.nodes = nodes;
        this.settings = settings;
        this.clock = clock;
        this.rounds = new Rounds("hp-reconciler", settings.period(), this::reconcileOnce, LOG);
    }

    /** Asks for a round soon; cheap, callable from request threads. */
    public void changed() {
        rounds.wake();
    }

    /** Whether the last round left an ENI waiting for nodes to apply it. */
    private volatile boolean awaitingNodes = true;

    /**
     * A node applied a version, or came or went: a round soon if an ENI is waiting for the nodes
     * (otherwise nothing here depends on them, and a round per cold start, whose registration every
     * node acknowledges, would only compete with it).
     */
    public void nodesProgressed() {
        if (awaitingNodes) {
            rounds.wake();
        }
    }

    /** One full round (tests call it to step deterministically). */
    public synchronized void reconcileOnce() {
        Set<String> wanted = new HashSet<>();
        boolean created = false;
        for (String[] f : db.inTransaction(c -> rows(c, "SELECT account_id, name FROM functions WHERE state = 'Pending' OR last_update_status = 'InProgress'"))) {
            created |= step(f[0], f[1], wanted);
        }
        if (created) {
            publisher.refresh().join();
        }
        promoteProgrammed();
        if (created) {
            // ENIs that became in-use just now let their functions finish in this round.
            for (String[] f : db.inTransaction(c -> rows(c, "SELECT account_id, name FROM functions WHERE state = 'Pending' OR last_update_status = 'InProgress'"))) {
                step(f[0], f[1], wanted);
            }
        }
        idle();
        if (collect(wanted)) {
            publisher.refresh().join();
        }
    }

    /** Moves one function forward; returns true if it created an ENI. */
    private boolean step(String account, String name, Set<String> wanted) {
        Lifecycle before = db.inTransaction(c -> FunctionStore.lifecycle(c, account, name).orElse(null));
        if (before == null) {
            return false;
        }
        boolean restoring = FunctionStore.PENDING.equals(before.state());
        List<Version> versions = db.inTransaction(c -> restoring ? FunctionStore.allVersions(c, account, name)
                : FunctionStore.version(c, account, name, FunctionStore.LATEST).map(List::of).orElse(List.of()));
        for (Version v : versions) {
            if (v.inVpc() && !iam.allowsAll(account, v.role(), ENI_ACTIONS)) {
                fail(account, name, "InsufficientRolePermissions", "The function's execution role does not have permissions to call "
                        + "CreateNetworkInterface, DescribeNetworkInterfaces and DeleteNetworkInterface on EC2.");
                return false;
            }
        }
        boolean[] createdAny = new boolean[1];
        Outcome outcome = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Lifecycle now = FunctionStore.lifecycle(c, account, name).orElse(null);
            if (now == null || !(FunctionStore.PENDING.equals(now.state()) || now.updating())) {
                return Outcome.NOTHING;
            }
            Map<String, List<String>> enisByVersion = new LinkedHashMap<>();
            for (Version v : versions) {
                List<String> enis = new ArrayList<>();
                for (String subnet : v.subnetIds()) {
                    EniResult r = findOrCreate(c, account, v, subnet);
                    if (r.failure() != null) {
                        return r.failure();
                    }
                    createdAny[0] |= r.created();
                    enis.add(r.eniId());
                    wanted.add(r.eniId());
                }
                enisByVersion.put(v.version(), enis);
            }
            List<String> notReady = new ArrayList<>();
            for (List<String> enis : enisByVersion.values()) {
                for (String eni : enis) {
                    if (!Sql.strings(c, "SELECT status FROM network_interfaces WHERE id = ?", eni).getFirst().equals("in-use")) {
                        notReady.add(eni);
                    }
                }
            }
            if (!notReady.isEmpty()) {
                for (String eni : notReady) {
                    String rejection = publisher.rejection(eni);
                    if (rejection != null) {
                        return new Outcome("InternalError", "Lambda could not program the function's network interface " + eni
                                + " into the forwarder nodes: " + rejection + ".");
                    }
                }
                if (now.pendingSince() != null && now.pendingSince().plus(settings.programmingTimeout()).isBefore(clock.instant())) {
                    return new Outcome("InternalError", "Lambda could not program the function's network interfaces " + notReady
                            + " into every forwarder node within " + settings.programmingTimeout().toSeconds() + " s; nodes behind: "
                            + behind(notReady) + ".");
                }
                return Outcome.NOTHING;
            }
            for (Map.Entry<String, List<String>> e : enisByVersion.entrySet()) {
                Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ? AND version = ?", account, name, e.getKey());
                for (String eni : new TreeSet<>(e.getValue())) {
                    Sql.update(c, "INSERT INTO function_enis (account_id, function_name, version, eni_id) VALUES (?, ?, ?, ?)", account, name, e.getKey(), eni);
                }
            }
            Sql.update(c, "UPDATE functions SET state = ?, state_reason = NULL, state_reason_code = NULL, last_update_status = ?,"
                    + " last_update_reason = NULL, last_update_reason_code = NULL, pending_since = NULL WHERE account_id = ? AND name = ?",
                    FunctionStore.ACTIVE, FunctionStore.SUCCESSFUL, account, name);
            LOG.info("function {}/{} is Active on ENIs {}", account, name, enisByVersion.get(FunctionStore.LATEST));
            return Outcome.NOTHING;
        });
        if (outcome != Outcome.NOTHING) {
            fail(account, name, outcome.code(), outcome.reason());
        }
        return createdAny[0];
    }

    private record Outcome(String code, String reason) {
        static final Outcome NOTHING = new Outcome(null, null);
    }

    private record EniResult(String eniId, boolean created, Outcome failure) {
    }

    private String behind(List<String> enis) {
        List<String> out = new ArrayList<>();
        for (String eni : enis) {
            long version = publisher.versionWithEni(eni);
            out.addAll(nodes.behind(version));
        }
        return out.isEmpty() ? "none" : String.join(", ", new TreeSet<>(out));
    }

    /** The ENI for (account, subnet, sorted groups), reused or created; or why it cannot be. */
    private EniResult findOrCreate(Connection c, String account, Version v, String subnet) throws SQLException {
        List<String> subnetRow = Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnet, account);
        if (subnetRow.isEmpty()) {
            return new EniResult(null, false, new Outcome("InvalidSubnet", "The subnet ID '" + subnet + "' does not exist."));
        }
        String vpcId = subnetRow.getFirst();
        TreeSet<String> groups = new TreeSet<>(v.securityGroupIds());
        for (String group : groups) {
            if (Sql.count(c, "SELECT COUNT(*) FROM security_groups WHERE id = ? AND account_id = ? AND vpc_id = ?", group, account, vpcId) == 0) {
                return new EniResult(null, false, new Outcome("InvalidSecurityGroup", "The security group '" + group
                        + "' does not exist in VPC '" + vpcId + "'."));
            }
        }
        String key = String.join(",", groups);
        List<String> existing = Sql.strings(c, "SELECT id FROM network_interfaces WHERE account_id = ? AND subnet_id = ? AND group_key = ?",
                account, subnet, key);
        if (!existing.isEmpty()) {
            Sql.update(c, "UPDATE network_interfaces SET unused_since = NULL WHERE id = ?", existing.getFirst());
            return new EniResult(existing.getFirst(), false, null);
        }
        long inVpc = Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE account_id = ? AND vpc_id = ?", account, vpcId);
        if (inVpc >= settings.eniQuotaPerVpc()) {
            return new EniResult(null, false, new Outcome("EniLimitExceeded", "Lambda could not create a network interface in " + vpcId
                    + ": the VPC already has " + inVpc + " Hyperplane ENIs, the limit (" + settings.eniQuotaPerVpc() + ")."));
        }
        Ipv4Cidr cidr = Ipv4Cidr.parse(Sql.strings(c, "SELECT cidr FROM subnets WHERE id = ?", subnet).getFirst());
        List<String> free = SubnetAddresses.free(cidr, SubnetAddresses.used(c, subnet), 1);
        if (free.isEmpty()) {
            return new EniResult(null, false, new Outcome("SubnetOutOfIPAddresses", "Lambda could not create a network interface in "
                    + subnet + ": the subnet has no free IP addresses."));
        }
        String id = Ids.next("eni");
        String mac;
        try {
            mac = NetworkInterfaces.newMac(c);
        } catch (IdPool.Exhausted e) {
            return new EniResult(null, false, new Outcome("EniLimitExceeded", "Lambda could not create a network interface in " + vpcId
                    + ": every Hyperplane ENI address of the region is in use (" + e.getMessage() + ")."));
        }
        Sql.update(c, "INSERT INTO network_interfaces (id, account_id, vpc_id, subnet_id, group_key, private_ip, mac, status, description, created_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, 'creating', ?, ?)", id, account, vpcId, subnet, key, free.getFirst(), mac,
                "AWS Lambda VPC ENI-" + v.name() + "-" + java.util.UUID.randomUUID(), Timestamp.from(clock.instant()));
        for (String group : groups) {
            Sql.update(c, "INSERT INTO network_interface_groups (eni_id, group_id) VALUES (?, ?)", id, group);
        }
        LOG.info("ENI {} created for {}/{}: {} in {} with groups {}", id, account, v.name(), free.getFirst(), subnet, key);
        return new EniResult(id, true, null);
    }

    private void fail(String account, String name, String code, String reason) {
        db.inTransaction(c -> {
            Lifecycle l = FunctionStore.lifecycle(c, account, name).orElse(null);
            if (l == null) {
                return null;
            }
            if (FunctionStore.PENDING.equals(l.state())) {
                Sql.update(c, "UPDATE functions SET state = ?, state_reason = ?, state_reason_code = ?, last_update_status = ?,"
                        + " last_update_reason = ?, last_update_reason_code = ?, pending_since = NULL WHERE account_id = ? AND name = ?",
                        FunctionStore.FAILED, reason, code, l.updating() ? "Failed" : l.lastUpdateStatus(), l.updating() ? reason : l.lastUpdateReason(),
                        l.updating() ? code : l.lastUpdateReasonCode(), account, name);
            } else {
                Sql.update(c, "UPDATE functions SET last_update_status = 'Failed', last_update_reason = ?, last_update_reason_code = ?,"
                        + " pending_since = NULL WHERE account_id = ? AND name = ?", reason, code, account, name);
            }
            return null;
        });
        LOG.info("function {}/{} failed: {} ({})", account, name, code, reason);
    }

    /** ENIs being created become in-use once every live node runs a version that has them. */
    private void promoteProgrammed() {
        boolean waiting = false;
        List<String> creating = db.inTransaction(c -> Sql.strings(c, "SELECT id FROM network_interfaces WHERE status = 'creating'"));
        if (!creating.isEmpty()) {
            awaitingNodes = true; // before reading the nodes: one that applies meanwhile wakes another round
        }
        for (String eni : creating) {
            long version = publisher.versionWithEni(eni);
            if (version >= 0 && nodes.behind(version).isEmpty()) {
                db.inTransaction(c -> Sql.update(c, "UPDATE network_interfaces SET status = 'in-use' WHERE id = ? AND status = 'creating'", eni));
                LOG.info("ENI {} is programmed on every live node (config version {})", eni, version);
            } else {
                waiting = true;
            }
        }
        awaitingNodes = waiting;
    }

    /** Functions not invoked for the idle period become Inactive and let go of their ENIs. */
    private void idle() {
        Timestamp cutoff = Timestamp.from(clock.instant().minus(settings.idleAfter()));
        for (String[] f : db.inTransaction(c -> rows(c, "SELECT account_id, name FROM functions WHERE state = 'Active'"
                + " AND last_update_status <> 'InProgress' AND last_invoked_at < ?", cutoff))) {
            db.inTransaction(c -> {
                Accounts.lock(c, f[0]);
                if (Sql.update(c, "UPDATE functions SET state = ?, state_reason = ?, state_reason_code = ? WHERE account_id = ? AND name = ?"
                        + " AND state = 'Active' AND last_invoked_at < ?", FunctionStore.INACTIVE,
                        "The function is inactive because it has not been invoked for " + settings.idleAfter().toSeconds() + " s.", "Idle",
                        f[0], f[1], cutoff) > 0) {
                    Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ?", f[0], f[1]);
                }
                return null;
            });
            LOG.info("function {}/{} is Inactive (Idle); its ENIs are released", f[0], f[1]);
        }
    }

    /** Marks ENIs nothing uses, and deletes those unused for the grace period; true if any went. */
    private boolean collect(Set<String> wanted) {
        Instant now = clock.instant();
        return db.inTransaction(c -> {
            boolean deleted = false;
            try (PreparedStatement s = Sql.prepare(c, "SELECT e.id, e.unused_since, e.group_key,"
                    + " (SELECT COUNT(*) FROM function_enis f WHERE f.eni_id = e.id) + (SELECT COUNT(*) FROM execution_environments x WHERE x.eni_id = e.id)"
                    + " FROM network_interfaces e"); ResultSet r = s.executeQuery()) {
                List<Object[]> rows = new ArrayList<>();
                while (r.next()) {
                    rows.add(new Object[] {r.getString(1), r.getTimestamp(2), r.getLong(4), r.getString(3).contains("|")});
                }
                for (Object[] row : rows) {
                    String id = (String) row[0];
                    Timestamp since = (Timestamp) row[1];
                    boolean used = (long) row[2] > 0 || wanted.contains(id);
                    if (used) {
                        if (since != null) {
                            Sql.update(c, "UPDATE network_interfaces SET unused_since = NULL WHERE id = ?", id);
                        }
                    } else if (since == null) {
                        Sql.update(c, "UPDATE network_interfaces SET unused_since = ? WHERE id = ?", Timestamp.from(now), id);
                    } else if (!since.toInstant().plus((Boolean) row[3] ? LEGACY_GRACE : settings.eniGrace()).isAfter(now)) {
                        NetworkInterfaces.delete(c, id);
                        LOG.info("ENI {} deleted: unused for {} s", id, settings.eniGrace().toSeconds());
                        deleted = true;
                    }
                }
            }
            return deleted;
        });
    }

    private static List<String[]> rows(Connection c, String sql, Object... args) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, sql, args); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new String[] {r.getString(1), r.getString(2)});
            }
        }
        return out;
    }

    @Override
    public void close() {
        rounds.close();
    }
}
