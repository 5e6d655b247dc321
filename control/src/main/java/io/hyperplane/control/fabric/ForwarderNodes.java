package io.hyperplane.control.fabric;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The forwarder nodes registered with the control plane, each with its index in the fleet's plan
 * (1..{@link FleetPlan#PORT_BLOCKS}): kept for the node's name while it stays registered (a node
 * that restarts, or a control plane that restarts, finds the same index: senders' nexthop ids and
 * the node's port blocks do not move), the lowest free one at its first registration, freed when
 * it leaves cleanly. Registering or removing one changes the fabric (routers accept tunnels from
 * every registered node).
 */
public final class ForwarderNodes {
    /** A registered node. */
    public record Registered(String name, String underlayIp, int index) {
    }

    /** A 17th node: every index is taken, the port space has no block left to give it. */
    public static final class FleetFullException extends IllegalArgumentException {
        FleetFullException(String message) {
            super(message);
        }
    }

    private final Database db;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    public ForwarderNodes(Database db, Runnable changed) {
        this.db = db;
        listeners.add(changed);
    }

    /** Runs {@code listener} after every registration or removal: cheap, not blocking. */
    public void whenChanged(Runnable listener) {
        listeners.add(listener);
    }

    private void changed() {
        listeners.forEach(Runnable::run);
    }

    /**
     * Registers {@code name} at {@code underlayIp} (a node that had that address under another name
     * is replaced) and returns its index.
     *
     * @throws FleetFullException when the fleet has {@link FleetPlan#PORT_BLOCKS} other nodes
     */
    public int register(String name, String underlayIp) {
        Ipv4Address.parse(underlayIp);
        int index = db.inTransaction(c -> {
            Sql.update(c, "DELETE FROM forwarder_nodes WHERE underlay_ip = ? AND name <> ?", underlayIp, name);
            List<String> own = Sql.strings(c, "SELECT fleet_index FROM forwarder_nodes WHERE name = ?", name);
            if (!own.isEmpty()) {
                Sql.update(c, "UPDATE forwarder_nodes SET underlay_ip = ? WHERE name = ?", underlayIp, name);
                return Integer.parseInt(own.getFirst());
            }
            List<String> taken = Sql.strings(c, "SELECT fleet_index FROM forwarder_nodes ORDER BY fleet_index");
            int free = lowestFree(taken.stream().map(Integer::parseInt).toList());
            if (free == 0) {
                throw new FleetFullException("node " + name + ": the fleet is full: " + FleetPlan.PORT_BLOCKS + " nodes are registered ("
                        + String.join(", ", Sql.strings(c, "SELECT name FROM forwarder_nodes ORDER BY fleet_index"))
                        + "), one per NAT port block; remove one (DELETE /hyperplane/v1/nodes/NAME) first");
            }
            Sql.update(c, "INSERT INTO forwarder_nodes (name, underlay_ip, created_at, fleet_index) VALUES (?, ?, ?, ?)", name, underlayIp,
                    Timestamp.from(Instant.now()), free);
            return free;
        });
        changed();
        return index;
    }

    /** The lowest index not in {@code taken} (ascending), or 0 when all are. */
    private static int lowestFree(List<Integer> taken) {
        int candidate = 1;
        for (int index : taken) {
            if (index == candidate) {
                candidate++;
            }
        }
        return candidate <= FleetPlan.PORT_BLOCKS ? candidate : 0;
    }

    public void remove(String name) {
        db.inTransaction(c -> Sql.update(c, "DELETE FROM forwarder_nodes WHERE name = ?", name));
        changed();
    }

    /** Every registered node, by index. */
    public List<Registered> all() {
        return db.inTransaction(c -> {
            List<Registered> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT name, underlay_ip, fleet_index FROM forwarder_nodes ORDER BY fleet_index");
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new Registered(r.getString(1), r.getString(2), r.getInt(3)));
                }
            }
            return out;
        });
    }
}
