package io.hyperplane.control.ec2;

import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * What every creator and deleter of a Hyperplane ENI row does alike (the ENI reconciler, the legacy
 * model, DeleteNetworkInterface): the MAC comes from {@link IdPool#ENI_MAC} and goes back to it.
 */
public final class NetworkInterfaces {
    private NetworkInterfaces() {
    }

    /** A MAC for an ENI this transaction creates; throws {@link IdPool.Exhausted} when every one is held. */
    public static String newMac(Connection c) throws SQLException {
        return IdPool.ENI_MAC.format(IdPool.ENI_MAC.take(c));
    }

    /** Deletes the ENI, its groups and tags, and releases its MAC. */
    public static void delete(Connection c, String eniId) throws SQLException {
        List<String> mac = Sql.strings(c, "SELECT mac FROM network_interfaces WHERE id = ?", eniId);
        Sql.update(c, "DELETE FROM network_interface_groups WHERE eni_id = ?", eniId);
        Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", eniId);
        if (Sql.update(c, "DELETE FROM network_interfaces WHERE id = ?", eniId) > 0) {
            IdPool.ENI_MAC.releaseStored(c, mac.getFirst());
        }
    }
}
