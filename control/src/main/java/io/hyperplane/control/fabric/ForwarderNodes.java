package io.hyperplane.control.fabric;

import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;

import java.sql.Timestamp;
import java.time.Instant;

/**
 * The forwarder nodes VPC subnets tunnel to. Registering or removing one changes every subnet's
 * flood list in the fabric. (Issue 4's {@code hyperplane node --control URL} will register itself.)
 */
public final class ForwarderNodes {
    private final Database db;
    private final Runnable changed;

    public ForwarderNodes(Database db, Runnable changed) {
        this.db = db;
        this.changed = changed;
    }

    public void register(String name, String underlayIp) {
        Ipv4Address.parse(underlayIp);
        db.inTransaction(c -> {
            Sql.update(c, "DELETE FROM forwarder_nodes WHERE name = ? OR underlay_ip = ?", name, underlayIp);
            Sql.update(c, "INSERT INTO forwarder_nodes (name, underlay_ip, created_at) VALUES (?, ?, ?)", name, underlayIp,
                    Timestamp.from(Instant.now()));
            return null;
        });
        changed.run();
    }

    public void remove(String name) {
        db.inTransaction(c -> Sql.update(c, "DELETE FROM forwarder_nodes WHERE name = ?", name));
        changed.run();
    }
}
