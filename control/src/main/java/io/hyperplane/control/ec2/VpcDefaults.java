package io.hyperplane.control.ec2;

import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * What EC2 makes with every VPC (VPC user guide, "Default VPC components" for a non-default VPC):
 * <ul>
 *   <li>the main route table, with the local route for the VPC's block, which cannot be removed;</li>
 *   <li>the default network ACL, allowing all traffic both ways (rule 100);</li>
 *   <li>the "default" security group: all egress, ingress only from members of itself.</li>
 * </ul>
 * Deleted with the VPC, never on their own.
 */
final class VpcDefaults {
    static final String DEFAULT_GROUP_NAME = "default";
    static final String DEFAULT_GROUP_DESCRIPTION = "default VPC security group";
    static final int DEFAULT_ACL_RULE = 100;

    private VpcDefaults() {
    }

    static void create(Connection c, String accountId, String vpcId, String cidr) throws SQLException {
        Timestamp now = Timestamp.from(Instant.now());
        String table = Ids.next("rtb");
        Sql.update(c, "INSERT INTO route_tables (id, account_id, vpc_id, created_at) VALUES (?, ?, ?, ?)", table, accountId, vpcId, now);
        Sql.update(c, "INSERT INTO routes (route_table_id, destination, target, origin) VALUES (?, ?, 'local', 'CreateRouteTable')", table, cidr);
        Sql.update(c, "INSERT INTO route_table_associations (id, route_table_id, subnet_id, is_main) VALUES (?, ?, NULL, TRUE)",
                Ids.next("rtbassoc"), table);

        String acl = Ids.next("acl");
        Sql.update(c, "INSERT INTO network_acls (id, account_id, vpc_id, is_default, created_at) VALUES (?, ?, ?, TRUE, ?)", acl, accountId, vpcId, now);
        for (boolean egress : new boolean[] {true, false}) {
            Sql.update(c, "INSERT INTO network_acl_entries (acl_id, egress, rule_number, protocol, rule_action, cidr) VALUES (?, ?, ?, '-1', 'allow', '0.0.0.0/0')",
                    acl, egress, DEFAULT_ACL_RULE);
        }

        String group = Ids.next("sg");
        Sql.update(c, "INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at) VALUES (?, ?, ?, ?, ?, TRUE, ?)",
                group, accountId, vpcId, DEFAULT_GROUP_NAME, DEFAULT_GROUP_DESCRIPTION, now);
        Sql.update(c, "INSERT INTO security_group_rules (id, group_id, egress, protocol, from_port, to_port, cidr, referenced_group_id)"
                + " VALUES (?, ?, TRUE, '-1', -1, -1, '0.0.0.0/0', NULL)", Ids.next("sgr"), group);
        Sql.update(c, "INSERT INTO security_group_rules (id, group_id, egress, protocol, from_port, to_port, cidr, referenced_group_id)"
                + " VALUES (?, ?, FALSE, '-1', -1, -1, NULL, ?)", Ids.next("sgr"), group, group);
    }

    static void delete(Connection c, String vpcId) throws SQLException {
        Sql.update(c, "DELETE FROM security_group_rules WHERE group_id IN (SELECT id FROM security_groups WHERE vpc_id = ?)", vpcId);
        Sql.update(c, "DELETE FROM tags WHERE resource_id IN (SELECT id FROM security_groups WHERE vpc_id = ?)"
                + " OR resource_id IN (SELECT id FROM network_acls WHERE vpc_id = ?) OR resource_id IN (SELECT id FROM route_tables WHERE vpc_id = ?)",
                vpcId, vpcId, vpcId);
        Sql.update(c, "DELETE FROM security_groups WHERE vpc_id = ?", vpcId);
        Sql.update(c, "DELETE FROM network_acl_entries WHERE acl_id IN (SELECT id FROM network_acls WHERE vpc_id = ?)", vpcId);
        Sql.update(c, "DELETE FROM network_acls WHERE vpc_id = ?", vpcId);
        Sql.update(c, "DELETE FROM route_table_associations WHERE route_table_id IN (SELECT id FROM route_tables WHERE vpc_id = ?)", vpcId);
        Sql.update(c, "DELETE FROM routes WHERE route_table_id IN (SELECT id FROM route_tables WHERE vpc_id = ?)", vpcId);
        Sql.update(c, "DELETE FROM route_tables WHERE vpc_id = ?", vpcId);
    }
}
