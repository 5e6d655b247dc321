package io.hyperplane.control.lambda;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.eni.Allocation;
import io.hyperplane.control.eni.EniModel;
import io.hyperplane.control.eni.EniState;
import io.hyperplane.control.eni.EniStore;
import io.hyperplane.control.eni.VpcLookup;
import io.hyperplane.control.iam.IamApi;
import io.hyperplane.control.lambda.VersionStore.Version;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.concurrent.Rounds;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * <p>Rounds are woken by events: a Lambda or EC2 change ({@link #changed}), a full node
 * configuration version, and a node's acknowledgement while an ENI waits for the nodes
 * ({@link #nodesProgressed}). A round takes what the nodes acknowledged first, so the round the
 * last live node's acknowledgement wakes makes the function Active. The periodic round is a
 * safety net (a node that stops being live sends nothing; timeouts, idle reclaim, grace periods).
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
            if (period == null || period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("reconciler period " + period + ": must be positive");
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

        public Settings withPeriod(Duration every) {
            return new Settings(eniQuotaPerVpc, eniGrace, idleAfter, programmingTimeout, every);
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
        // What the nodes acknowledged since the last round comes first: the round an acknowledgement woke makes the
        // functions waiting for it Active, rather than leaving them to the next round, a period later (issue 15).
        promoteProgrammed();
        boolean created = false;
        for (FunctionStore.Key f : db.inTransaction(FunctionStore::unsettled)) {
            created |= step(f.account(), f.name(), wanted);
        }
        if (created) {
            publisher.refresh().join();
            if (promoteProgrammed()) {
                // ENIs every live node took at once (or no node is live) let their functions finish in this round.
                for (FunctionStore.Key f : db.inTransaction(FunctionStore::unsettled)) {
                    step(f.account(), f.name(), wanted);
                }
            }
        }
        idle();
        if (collect(wanted)) {
            publisher.refresh().join();
        }
    }

    /** Moves one function forward; returns true if it created an ENI. */
    private boolean step(String account, String name, Set<String> wanted) {
        FunctionStatus before = db.inTransaction(c -> FunctionStore.get(c, account, name).map(FunctionStore.Row::status).orElse(null));
        if (before == null) {
            return false;
        }
        boolean restoring = before.state() == FunctionState.PENDING;
        List<Version> versions = db.inTransaction(c -> restoring ? VersionStore.all(c, account, name)
                : VersionStore.get(c, account, name, FunctionStore.LATEST).map(List::of).orElse(List.of()));
        for (Version v : versions) {
            if (v.inVpc() && !iam.allowsAll(account, v.role(), ENI_ACTIONS)) {
                fail(account, name, "InsufficientRolePermissions", "The function's execution role does not have permissions to call "
                        + "CreateNetworkInterface, DescribeNetworkInterfaces and DeleteNetworkInterface on EC2.");
                return false;
            }
        }
        Step step = db.inTransaction(c -> {
            Accounts.lock(c, account);
            FunctionStatus now = FunctionStore.get(c, account, name).map(FunctionStore.Row::status).orElse(null);
            if (now == null || !now.settling()) {
                return Step.NOTHING;
            }
            boolean created = false;
            Map<String, List<String>> enisByVersion = new LinkedHashMap<>();
            for (Version v : versions) {
                List<String> enis = new ArrayList<>();
                for (String subnet : v.subnetIds()) {
                    EniResult r = findOrCreate(c, account, v, subnet);
                    if (r.failure() != null) {
                        return new Step(r.failure(), created);
                    }
                    created |= r.created();
                    enis.add(r.eniId());
                    wanted.add(r.eniId());
                }
                enisByVersion.put(v.version(), enis);
            }
            List<String> notReady = new ArrayList<>();
            for (List<String> enis : enisByVersion.values()) {
                for (String eni : enis) {
                    if (EniStore.state(c, eni).orElseThrow() != EniState.IN_USE) {
                        notReady.add(eni);
                    }
                }
            }
            if (!notReady.isEmpty()) {
                for (String eni : notReady) {
                    String rejection = publisher.rejection(eni);
                    if (rejection != null) {
                        return new Step(new Outcome("InternalError", "Lambda could not program the function's network interface " + eni
                                + " into the forwarder nodes: " + rejection + "."), created);
                    }
                }
                if (now.pendingSince() != null && now.pendingSince().plus(settings.programmingTimeout()).isBefore(clock.instant())) {
                    return new Step(new Outcome("InternalError", "Lambda could not program the function's network interfaces " + notReady
                            + " into every forwarder node within " + settings.programmingTimeout().toSeconds() + " s; nodes behind: "
                            + behind(notReady) + "."), created);
                }
                return new Step(null, created);
            }
            for (Map.Entry<String, List<String>> e : enisByVersion.entrySet()) {
                VersionStore.runOn(c, account, name, e.getKey(), e.getValue());
            }
            FunctionStore.write(c, account, name, FunctionLifecycle.activate(now));
            LOG.info("function {}/{} is Active on ENIs {}", account, name, enisByVersion.get(FunctionStore.LATEST));
            return new Step(null, created);
        });
        if (step.failure() != null) {
            fail(account, name, step.failure().code(), step.failure().reason());
        }
        return step.createdEni();
    }

    /** Why a function's network cannot be set up: Lambda's reason code and reason. */
    private record Outcome(String code, String reason) {
    }

    /** What one step of a function did: the failure it met (null for none), and whether it created an ENI before. */
    private record Step(Outcome failure, boolean createdEni) {
        static final Step NOTHING = new Step(null, false);
    }

    private record EniResult(String eniId, boolean created, Outcome failure) {
        static EniResult failed(String code, String reason) {
            return new EniResult(null, false, new Outcome(code, reason));
        }
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
        Optional<String> subnetVpc = VpcLookup.subnetVpc(c, account, subnet);
        if (subnetVpc.isEmpty()) {
            return EniResult.failed("InvalidSubnet", "The subnet ID '" + subnet + "' does not exist.");
        }
        String vpcId = subnetVpc.get();
        TreeSet<String> groups = new TreeSet<>(v.securityGroupIds());
        for (String group : groups) {
            if (!VpcLookup.groupVpc(c, account, group).filter(vpcId::equals).isPresent()) {
                return EniResult.failed("InvalidSecurityGroup", "The security group '" + group + "' does not exist in VPC '" + vpcId + "'.");
            }
        }
        Optional<String> existing = EniStore.findShared(c, account, subnet, groups);
        if (existing.isPresent()) {
            EniStore.markUsed(c, existing.get());
            return new EniResult(existing.get(), false, null);
        }
        return switch (EniStore.allocate(c, account, vpcId, subnet, groups, EniModel.SHARED, v.name(), settings.eniQuotaPerVpc(),
                clock.instant())) {
            case Allocation.Allocated eni -> {
                LOG.info("ENI {} created for {}/{}: {} in {} with groups {}", eni.eniId(), account, v.name(), eni.ip(), subnet,
                        String.join(",", groups));
                yield new EniResult(eni.eniId(), true, null);
            }
            case Allocation.QuotaReached q -> EniResult.failed("EniLimitExceeded", "Lambda could not create a network interface in " + vpcId
                    + ": the VPC already has " + q.inVpc() + " Hyperplane ENIs, the limit (" + q.quota() + ").");
            case Allocation.SubnetFull f -> EniResult.failed("SubnetOutOfIPAddresses", "Lambda could not create a network interface in "
                    + subnet + ": the subnet has no free IP addresses.");
            case Allocation.MacsExhausted m -> EniResult.failed("EniLimitExceeded", "Lambda could not create a network interface in " + vpcId
                    + ": every Hyperplane ENI address of the region is in use (" + m.detail() + ").");
        };
    }

    private void fail(String account, String name, String code, String reason) {
        db.inTransaction(c -> {
            Optional<FunctionStore.Row> row = FunctionStore.get(c, account, name);
            return row.isPresent() && FunctionStore.write(c, account, name, FunctionLifecycle.fail(row.get().status(), code, reason));
        });
        LOG.info("function {}/{} failed: {} ({})", account, name, code, reason);
    }

    /** ENIs being created become in-use once every live node runs a version that has them; true if any did. */
    private boolean promoteProgrammed() {
        boolean waiting = false;
        boolean promoted = false;
        List<String> creating = db.inTransaction(c -> EniStore.inState(c, EniState.CREATING));
        if (!creating.isEmpty()) {
            awaitingNodes = true; // before reading the nodes: one that applies meanwhile wakes another round
        }
        for (String eni : creating) {
            long version = publisher.versionWithEni(eni);
            if (version >= 0 && nodes.behind(version).isEmpty()) {
                db.inTransaction(c -> EniStore.programmed(c, eni));
                LOG.info("ENI {} is programmed on every live node (config version {})", eni, version);
                promoted = true;
            } else {
                waiting = true;
            }
        }
        awaitingNodes = waiting;
        return promoted;
    }

    /** Functions not invoked for the idle period become Inactive and let go of their ENIs. */
    private void idle() {
        Instant cutoff = clock.instant().minus(settings.idleAfter());
        for (FunctionStore.Key f : db.inTransaction(c -> FunctionStore.idleSince(c, cutoff))) {
            db.inTransaction(c -> {
                Accounts.lock(c, f.account());
                // Under the account's lock again: an invoke or an update since the list was read keeps the function.
                Optional<FunctionStore.Row> row = FunctionStore.get(c, f.account(), f.name());
                if (row.isPresent() && FunctionLifecycle.canIdle(row.get().status()) && row.get().lastInvokedAt().isBefore(cutoff)
                        && FunctionStore.write(c, f.account(), f.name(), FunctionLifecycle.idle(row.get().status(), settings.idleAfter()))) {
                    VersionStore.releaseEnis(c, f.account(), f.name());
                }
                return null;
            });
            LOG.info("function {}/{} is Inactive (Idle); its ENIs are released", f.account(), f.name());
        }
    }

    /** Marks ENIs nothing uses, and deletes those unused for the grace period; true if any went. */
    private boolean collect(Set<String> wanted) {
        Instant now = clock.instant();
        return db.inTransaction(c -> {
            boolean deleted = false;
            for (EniStore.Usage eni : EniStore.usage(c)) {
                boolean used = eni.users() > 0 || wanted.contains(eni.id());
                if (used) {
                    if (eni.unusedSince() != null) {
                        EniStore.markUsed(c, eni.id());
                    }
                } else if (eni.unusedSince() == null) {
                    EniStore.markUnused(c, eni.id(), now);
                } else if (!eni.unusedSince().plus(eni.model() == EniModel.LEGACY ? LEGACY_GRACE : settings.eniGrace()).isAfter(now)) {
                    EniStore.delete(c, eni.id());
                    LOG.info("ENI {} deleted: unused for {} s", eni.id(), settings.eniGrace().toSeconds());
                    deleted = true;
                }
            }
            return deleted;
        });
    }

    @Override
    public void close() {
        rounds.close();
    }
}
