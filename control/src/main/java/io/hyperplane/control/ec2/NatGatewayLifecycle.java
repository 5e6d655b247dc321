package io.hyperplane.control.ec2;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.control.concurrent.Rounds;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Moves NAT gateways on as the forwarder nodes take them, the way the Lambda ENI lifecycle does
 * (FunctionReconciler): a gateway is pending until every live node has applied a configuration
 * version that has it, and available from then; with no live node nothing carries it, so it stays
 * pending. A gateway the nodes' snapshot refuses fails alone (InternalError). A deleting gateway
 * is deleted once a version without it is published and applied by every live node, and its
 * private address and MAC go back then. Deleted and failed gateways are forgotten an hour later.
 * <p>Rounds are woken by EC2 changes, published versions and nodes' acknowledgements; a periodic
 * round is the safety net.
 */
public final class NatGatewayLifecycle implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NatGatewayLifecycle.class);
    private static final Duration PERIOD = Duration.ofSeconds(1);

    private final Database db;
    private final NodeConfigPublisher publisher;
    private final NodeRegistry nodes;
    private final Clock clock;
    private final Runnable changed;
    private final Rounds rounds;

    /** {@code changed} runs when a gateway became available or left (routes to it change state): the fabric and nodes follow. */
    public NatGatewayLifecycle(Database db, NodeConfigPublisher publisher, NodeRegistry nodes, Clock clock, Runnable changed) {
        this.db = db;
        this.publisher = publisher;
        this.nodes = nodes;
        this.clock = clock;
        this.changed = changed;
        this.rounds = new Rounds("hp-nat-gateways", PERIOD, this::reconcileOnce, LOG);
    }

    /** Asks for a round soon; cheap, callable from any thread. */
    public void wake() {
        rounds.wake();
    }

    /** One round (tests call it to step deterministically). */
    public synchronized void reconcileOnce() {
        boolean moved = false;
        Instant now = clock.instant();
        for (String id : db.inTransaction(c -> Sql.strings(c, "SELECT id FROM nat_gateways WHERE state = ? ORDER BY created_at, id",
                NatGatewayState.PENDING.stored()))) {
            moved |= pending(id, now);
        }
        NodeConfigPublisher.Published current = publisher.current();
        List<String> carried = current.snapshot().natGateways().stream().map(NodeSnapshot.NatGateway::id).toList();
        boolean applied = nodes.behind(current.version()).isEmpty();
        for (String id : db.inTransaction(c -> Sql.strings(c, "SELECT id FROM nat_gateways WHERE state = ? ORDER BY created_at, id",
                NatGatewayState.DELETING.stored()))) {
            if (!carried.contains(id) && applied) {
                moved |= move(id, NatGatewayState.DELETING, NatGatewayState.DELETED, null, null, now);
            }
        }
        Timestamp forgotten = Timestamp.from(now.minus(NatGatewayActions.SHOWN_AFTER_GONE));
        db.inTransaction(c -> {
            Sql.update(c, "DELETE FROM tags WHERE resource_id IN (SELECT id FROM nat_gateways WHERE deleted_at < ?)", forgotten);
            return Sql.update(c, "DELETE FROM nat_gateways WHERE deleted_at < ?", forgotten);
        });
        if (moved) {
            changed.run();
        }
    }

    private boolean pending(String id, Instant now) {
        String rejection = publisher.natGatewayRejection(id);
        if (rejection != null) {
            String eni = db.inTransaction(c -> Sql.strings(c, "SELECT eni_id FROM nat_gateways WHERE id = ?", id)).stream().findFirst().orElse("");
            return move(id, NatGatewayState.PENDING, NatGatewayState.FAILED, "InternalError",
                    NatGatewayActions.internalErrorMessage(eni, "the forwarder nodes cannot take it: " + rejection), now);
        }
        long version = publisher.versionWithNatGateway(id);
        if (version >= 0 && !nodes.live().isEmpty() && nodes.behind(version).isEmpty()) {
            LOG.info("NAT gateway {} is available on every live node (config version {})", id, version);
            return move(id, NatGatewayState.PENDING, NatGatewayState.AVAILABLE, null, null, now);
        }
        return false;
    }

    /** One checked move, in one transaction; false when the gateway moved on meanwhile (a delete). */
    private boolean move(String id, NatGatewayState from, NatGatewayState to, String failureCode, String failureMessage, Instant now) {
        from.moveTo(to, id);
        return db.inTransaction(c -> {
            if (Sql.update(c, "UPDATE nat_gateways SET state = ?, failure_code = COALESCE(?, failure_code),"
                    + " failure_message = COALESCE(?, failure_message), deleted_at = ? WHERE id = ? AND state = ?", to.stored(), failureCode,
                    failureMessage, to.gone() ? Timestamp.from(now) : null, id, from.stored()) == 0) {
                return false;
            }
            if (to.gone()) {
                if (to == NatGatewayState.FAILED) {
                    String account = Sql.strings(c, "SELECT account_id FROM nat_gateways WHERE id = ?", id).getFirst();
                    NatGatewayActions.disassociate(c, NatGatewayActions.gateways(c, account).stream().filter(g -> g.id().equals(id))
                            .findFirst().orElseThrow());
                }
                NatGatewayActions.releaseAddresses(c, id);
            }
            return true;
        });
    }

    @Override
    public void close() {
        rounds.close();
    }
}
