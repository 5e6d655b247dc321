package io.hyperplane.control.eni;

import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Cidr;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;

/**
 * Rows of {@code network_interfaces} and {@code network_interface_groups}: the ENIs of both models.
 * Every ENI is allocated here (quota, an address from the subnet shared with instances, an id, a
 * MAC from {@link IdPool#ENI_MAC}) and deleted here (the MAC goes back), and its state changes only
 * through {@link EniLifecycle}. {@code group_key} is what a shared ENI is shared by, its sorted
 * group set; a legacy ENI is never shared, and its key is its own id. Callers own the transaction
 * and hold the account's row lock where they allocate.
 */
public final class EniStore {
    private EniStore() {
    }

    /** An ENI as the collection of unused ones sees it: how many function versions and environments use it. */
    public record Usage(String id, EniModel model, Instant unusedSince, long users) {
    }

    /** The account's shared ENI for (subnet, groups), if there is one. */
    public static Optional<String> findShared(Connection c, String account, String subnetId, SortedSet<String> groups) throws SQLException {
        List<String> found = Sql.strings(c, "SELECT id FROM network_interfaces WHERE account_id = ? AND subnet_id = ? AND group_key = ?"
                + " AND model = ?", account, subnetId, String.join(",", groups), EniModel.SHARED.stored());
        return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
    }

    /**
     * A new ENI of {@code model} in the subnet (of {@code vpcId}), with the groups, for the function
     * it is made for; or the limit that refused it: the per-VPC quota (ENIs of both models count),
     * the subnet's addresses, the region's MACs.
     */
    public static Allocation allocate(Connection c, String account, String vpcId, String subnetId, SortedSet<String> groups, EniModel model,
                                      String functionName, int quotaPerVpc, Instant now) throws SQLException {
        long inVpc = Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE account_id = ? AND vpc_id = ?", account, vpcId);
        if (inVpc >= quotaPerVpc) {
            return new Allocation.QuotaReached(inVpc, quotaPerVpc);
        }
        Ipv4Cidr cidr = Ipv4Cidr.parse(Sql.strings(c, "SELECT cidr FROM subnets WHERE id = ?", subnetId).getFirst());
        List<String> free = SubnetAddresses.free(cidr, SubnetAddresses.used(c, subnetId), 1);
        if (free.isEmpty()) {
            return new Allocation.SubnetFull();
        }
        String id = Ids.next("eni");
        String mac;
        try {
            mac = IdPool.ENI_MAC.format(IdPool.ENI_MAC.take(c));
        } catch (IdPool.Exhausted e) {
            return new Allocation.MacsExhausted(e.getMessage());
        }
        EniLifecycle.Transition created = EniLifecycle.create(id, model);
        Sql.update(c, "INSERT INTO network_interfaces (id, account_id, vpc_id, subnet_id, group_key, private_ip, mac, status, model, description,"
                + " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", id, account, vpcId, subnetId,
                model == EniModel.SHARED ? String.join(",", groups) : id, free.getFirst(), mac, created.to().stored(), model.stored(),
                model.description(functionName), Timestamp.from(now));
        for (String group : groups) {
            Sql.update(c, "INSERT INTO network_interface_groups (eni_id, group_id) VALUES (?, ?)", id, group);
        }
        return new Allocation.Allocated(id, free.getFirst());
    }

    /** The ENI's state, or empty if there is no such ENI. */
    public static Optional<EniState> state(Connection c, String eniId) throws SQLException {
        List<String> status = Sql.strings(c, "SELECT status FROM network_interfaces WHERE id = ?", eniId);
        return status.isEmpty() ? Optional.empty() : Optional.of(EniState.ofStored(status.getFirst()));
    }

    public static List<String> inState(Connection c, EniState state) throws SQLException {
        return Sql.strings(c, "SELECT id FROM network_interfaces WHERE status = ?", state.stored());
    }

    /** A shared ENI every live node runs: CREATING to IN_USE. False if it is gone meanwhile. */
    public static boolean programmed(Connection c, String eniId) throws SQLException {
        Optional<EniState> state = state(c, eniId);
        if (state.isEmpty()) {
            return false;
        }
        EniLifecycle.Transition t = EniLifecycle.move(eniId, state.get(), EniState.IN_USE);
        return Sql.update(c, "UPDATE network_interfaces SET status = ? WHERE id = ? AND status = ?", t.to().stored(), eniId,
                t.from().stored()) > 0;
    }

    /** Deletes the ENI, its groups and tags, and gives its MAC back; nothing if it is gone already. */
    public static void delete(Connection c, String eniId) throws SQLException {
        Optional<EniState> state = state(c, eniId);
        if (state.isEmpty()) {
            return;
        }
        EniLifecycle.move(eniId, state.get(), EniState.DELETED);
        String mac = Sql.strings(c, "SELECT mac FROM network_interfaces WHERE id = ?", eniId).getFirst();
        Sql.update(c, "DELETE FROM network_interface_groups WHERE eni_id = ?", eniId);
        Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", eniId);
        if (Sql.update(c, "DELETE FROM network_interfaces WHERE id = ?", eniId) > 0) {
            IdPool.ENI_MAC.releaseStored(c, mac);
        }
    }

    /** Deletes a legacy ENI no environment uses any more; false (and nothing done) for any other. */
    public static boolean deleteLegacyIfUnused(Connection c, String eniId) throws SQLException {
        if (Sql.count(c, "SELECT COUNT(*) FROM execution_environments WHERE eni_id = ?", eniId) > 0
                || Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE id = ? AND model = ?", eniId, EniModel.LEGACY.stored()) == 0) {
            return false;
        }
        delete(c, eniId);
        return true;
    }

    /** Something uses the ENI (again): its idle clock stops. */
    public static void markUsed(Connection c, String eniId) throws SQLException {
        Sql.update(c, "UPDATE network_interfaces SET unused_since = NULL WHERE id = ?", eniId);
    }

    /** Nothing uses the ENI since {@code since}: its idle clock starts. */
    public static void markUnused(Connection c, String eniId, Instant since) throws SQLException {
        Sql.update(c, "UPDATE network_interfaces SET unused_since = ? WHERE id = ?", Timestamp.from(since), eniId);
    }

    public static List<Usage> usage(Connection c) throws SQLException {
        List<Usage> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT e.id, e.model, e.unused_since,"
                + " (SELECT COUNT(*) FROM function_enis f WHERE f.eni_id = e.id) + (SELECT COUNT(*) FROM execution_environments x WHERE x.eni_id = e.id)"
                + " FROM network_interfaces e"); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                Timestamp since = r.getTimestamp(3);
                out.add(new Usage(r.getString(1), EniModel.ofStored(r.getString(2)), since == null ? null : since.toInstant(), r.getLong(4)));
            }
        }
        return out;
    }
}
