package io.hyperplane.control.fabric;

import io.hyperplane.config.fabric.Fabric;
import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.concurrent.Rounds;
import io.hyperplane.control.store.Sql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Keeps the fabric converged on the store: one background thread applies the whole desired state
 * whenever the API changed something (and every few seconds anyway, and once at start, which is
 * how a restarted server adopts the networks it built before), then records what happened: pending
 * instances that are up become running, shutting-down ones that are gone become terminated and
 * release their address.
 */
public final class FabricSync implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FabricSync.class);
    private static final long PERIOD_SECONDS = 5;

    private final Database db;
    private final Fabric fabric;
    private final Rounds rounds;
    /** The fleet's plan, once the node registry exists (after the first round, which adopts the fabric). */
    private volatile Supplier<FleetPlan> fleet;

    public FabricSync(Database db, Fabric fabric) {
        this.db = db;
        this.fabric = fabric;
        this.rounds = new Rounds("hp-fabric-sync", Duration.ofSeconds(PERIOD_SECONDS), this::round, LOG);
    }

    private final AtomicLong requested = new AtomicLong();
    private final Object completedLock = new Object();
    private long completed;

    /**
     * Where the fleet's plan comes from from now on: routers spread their tunnels by it. Until this
     * is called every registered node counts as in service.
     */
    public void planBy(Supplier<FleetPlan> planner) {
        fleet = planner;
        changed();
    }

    /** Asks for a convergence soon; cheap, callable from request threads. */
    public void changed() {
        requested.incrementAndGet();
        rounds.wake();
    }

    /**
     * Asks for a convergence and waits (at most {@code timeout}) until one that started after
     * this call has finished: for changes the fabric must enforce before the caller goes on.
     */
    public boolean changedAndWait(Duration timeout) throws InterruptedException {
        long mine = requested.incrementAndGet();
        rounds.wake();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (completedLock) {
            while (completed < mine) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                completedLock.wait(Math.max(1, left / 1_000_000));
            }
        }
        return true;
    }

    /** Converges once now, on the caller's thread (tests and start-up). */
    public synchronized void syncNow() {
        // Read who is leaving before the desired state: an instance terminated in between stays
        // shutting-down until a later round has removed it.
        List<String> leaving = db.inTransaction(c -> Sql.strings(c, "SELECT id FROM instances WHERE state = 'shutting-down'"));
        Supplier<FleetPlan> planner = fleet;
        FabricState desired = FabricStateBuilder.build(db, planner == null ? null : planner.get());
        Set<String> up = fabric.apply(desired);
        db.inTransaction(c -> {
            for (String id : up) {
                Sql.update(c, "UPDATE instances SET state = 'running' WHERE id = ? AND state = 'pending'", id);
            }
            for (String id : leaving) {
                Sql.update(c, "UPDATE instances SET state = 'terminated', private_ip = NULL WHERE id = ?", id);
            }
            return null;
        });
    }

    private void round() {
        long covers = requested.get(); // changes asked for so far are committed: this round sees them
        syncNow();
        synchronized (completedLock) {
            completed = Math.max(completed, covers);
            completedLock.notifyAll();
        }
    }

    @Override
    public void close() {
        rounds.close();
        fabric.close();
    }
}
