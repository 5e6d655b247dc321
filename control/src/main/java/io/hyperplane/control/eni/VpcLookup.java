package io.hyperplane.control.eni;

import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * Where a function's subnets and security groups are, read from EC2's tables: every check that a
 * VpcConfig or an ENI names resources of the caller's account, in one VPC, asks here.
 */
public final class VpcLookup {
    private VpcLookup() {
    }

    /** The VPC of the account's subnet, or empty if the account has no such subnet. */
    public static Optional<String> subnetVpc(Connection c, String account, String subnetId) throws SQLException {
        return first(Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnetId, account));
    }

    /** The VPC of the account's security group, or empty if the account has no such group. */
    public static Optional<String> groupVpc(Connection c, String account, String groupId) throws SQLException {
        return first(Sql.strings(c, "SELECT vpc_id FROM security_groups WHERE id = ? AND account_id = ?", groupId, account));
    }

    private static Optional<String> first(List<String> rows) {
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
    }
}
