package io.hyperplane.control.lambda;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import io.hyperplane.control.nodes.NodeConfigPublisher.Published;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.IpPermission;
import software.amazon.awssdk.services.ec2.model.IpRange;
import software.amazon.awssdk.services.ec2.model.NetworkAclAssociation;
import software.amazon.awssdk.services.ec2.model.NetworkInterface;
import software.amazon.awssdk.services.ec2.model.UserIdGroupPair;
import software.amazon.awssdk.services.lambda.model.State;
import software.amazon.awssdk.services.lambda.model.VpcConfig;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * One tenant's configuration can never stop another's (issue 13, DESIGN.md §9), tried the way a
 * fuzzer would: a long seeded random sequence of EC2 and Lambda calls from three accounts (creates,
 * updates and deletes of VPCs, subnets, security groups and their rules, network ACLs and their
 * entries and associations, route tables, routes, instances, functions and ENIs, internet gateways,
 * Elastic IPs and NAT gateways) with overlapping
 * CIDRs everywhere, other accounts' ids, ids that never existed and malformed values, against a
 * running control plane. After every call:
 * <ul>
 * <li>it succeeded or got an AWS error (4xx with a code), never a 5xx or an unreadable answer; a
 * call that names another account's resource, a deleted one or a malformed one never succeeds;</li>
 * <li>every version published since the last call, and the one a rebuild publishes now, is a valid
 * snapshot (it validates again from its parts and survives the JSON nodes are sent), and versions grow;</li>
 * <li>every ENI and every pending or available NAT gateway in the store is in what nodes are sent
 * (the API admits nothing the data plane refuses), no function or NAT gateway failed with
 * InternalError, and nothing in the store refers across VPCs;</li>
 * <li>a function of an account nobody else touches stays Active with its ENI published;</li>
 * <li>a reconciler round and a NAT gateway round complete.</li>
 * </ul>
 * Every {@value #PROBE_EVERY} calls, and after a restart on the same data at the end (which keeps
 * every Active function Active), that account makes VPC 10.0.0.0/16, subnet 10.0.1.0/24, a group
 * and a function, which becomes Active, and a security-group rule and a network ACL entry it adds
 * reach the nodes within a second with nobody asking.
 * <p>
 * The seed is printed; {@code -Dhyperplane.chaos.seed=N} replays a run's choices (resource ids and
 * the background threads' timing differ between runs), {@code -Dhyperplane.chaos.steps=N} changes its length.
 */
@Timeout(300)
class TenantChaosTest {
    private static final long DEFAULT_SEED = 20261207L;
    private static final long SEED = Long.getLong("hyperplane.chaos.seed", DEFAULT_SEED);
    private static final int STEPS = Integer.getInteger("hyperplane.chaos.steps", 500);
    private static final int PROBE_EVERY = 50;
    /** How many calls a failure report shows, newest last. */
    private static final int HISTORY_SHOWN = 25;
    private static final int HISTORY_WORD = 40;
    private static final Pattern ERROR_CODE = Pattern.compile("<Code>([^<]*)</Code>");
    /**
     * ENIs nothing uses go after this instead of Lambda's 30 s, so subnets, groups and VPCs whose
     * functions were deleted can be deleted again within the run (and ENIs come and go more).
     */
    private static final Duration ENI_GRACE = Duration.ofMillis(500);
    private static final Duration PROBE_ACTIVE_WITHIN = Duration.ofSeconds(20);
    /** Issue 13: another tenant's security-group change reaches the nodes within a second. */
    private static final Duration RULE_PUBLISHED_WITHIN = Duration.ofSeconds(1);
    private static final Duration PROBE_CLEANUP_WITHIN = Duration.ofSeconds(15);

    private static final List<String> VPC_CIDRS = List.of("10.0.0.0/16", "10.0.0.0/16", "10.0.0.0/16", "10.0.0.0/16", "10.0.0.0/20",
            "10.1.0.0/16", "172.16.0.0/16", "192.168.0.0/24", "10.0.0.0/28",
            // The system's own ranges: refused with InvalidVpc.Range or working like any other.
            "100.64.0.0/16", "198.18.0.0/16");
    private static final List<String> BAD_VPC_CIDRS = List.of("10.0.0.0/8", "10.0.0.0/29", "10.0.0.1/16", "10.0.0.0/33", "256.0.0.0/16",
            "10.0.0.0", "ten/16", "");
    private static final List<String> PEER_CIDRS = List.of("0.0.0.0/0", "10.0.0.0/16", "10.0.1.0/24", "10.0.1.4/32", "192.168.0.0/24",
            "100.64.0.0/10", "198.18.0.0/15");
    private static final List<String> BAD_CIDRS = List.of("10.0.0.0/33", "10.0.0.1/16", "nonsense", "10.0.0.0/-1", "1.2.3.4.5/32", "");
    private static final String STANDING_FUNCTION = "standing";
    private static final List<String> FUNCTION_NAMES = List.of("f0", "f1", "f2", "f3", "f4", "f5");
    private static final List<String> BAD_FUNCTION_NAMES = List.of("f".repeat(65), "has space", "f0:$LATEST:x", "f/0", "f\u00e9");

    @TempDir
    Path dir;

    private final Random random = new Random(SEED);
    private final List<String> history = new ArrayList<>();
    private final ConcurrentLinkedQueue<Published> published = new ConcurrentLinkedQueue<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<Tenant> tenants = new ArrayList<>();
    private final List<LambdaWorld> worlds = new ArrayList<>();
    private ControlPlaneServer server;
    private long lastVersion = -1;
    private Standing standing;
    private int mostEnis;

    /** The probe account's function that stays, and its ENI. */
    private record Standing(String account, String eni) {
    }

    /** One account's view, and what the test knows it has made (live ids, with their VPC). */
    private static final class Tenant {
        final String name;
        final Credential credential;
        final LambdaWorld world;
        final String role;
        final String roleWithoutEniActions;
        final Map<String, String> vpcs = new LinkedHashMap<>(); // id -> cidr
        final Map<String, String> subnets = new LinkedHashMap<>(); // id -> vpc
        final Map<String, String> groups = new LinkedHashMap<>(); // id -> vpc
        final Map<String, String> acls = new LinkedHashMap<>(); // id -> vpc
        final Map<String, String> tables = new LinkedHashMap<>(); // id -> vpc
        /** Each VPC's default group, default ACL and main route table: never deleted on their own. */
        final Set<String> defaults = new HashSet<>();
        final Map<String, String> tableAssociations = new LinkedHashMap<>(); // id -> subnet
        final Map<String, String> instances = new LinkedHashMap<>(); // id -> subnet, terminated ones too
        final Set<String> terminated = new HashSet<>();
        final List<Rule> rules = new ArrayList<>();
        final List<AclEntry> aclEntries = new ArrayList<>();
        final List<Route> routes = new ArrayList<>();
        final Set<String> functions = new LinkedHashSet<>();
        final Map<String, String> gateways = new LinkedHashMap<>(); // id -> vpc attached to, or "" detached
        final Map<String, String> addresses = new LinkedHashMap<>(); // allocation id -> ""
        final Map<String, String> natGateways = new LinkedHashMap<>(); // id -> subnet
        /** Ids this account deleted: naming one again never succeeds. */
        final List<String> deleted = new ArrayList<>();

        Tenant(String name, Credential credential, LambdaWorld world) {
            this.name = name;
            this.credential = credential;
            this.world = world;
            this.role = world.vpcRole("chaos-role");
            this.roleWithoutEniActions = world.role("chaos-bare-role");
        }
    }

    private record Rule(String group, boolean egress, IpPermission permission) {
    }

    private record AclEntry(String acl, boolean egress, int number) {
    }

    private record Route(String table, String destination) {
    }

    /** A chosen id, and whether naming it must fail (another account's, deleted, or never existed). */
    private record Pick(String id, boolean foreign) {
    }

    private record Action(String name, int weight, Consumer<Tenant> run) {
    }

    private final List<Action> actions = List.of(
            new Action("CreateVpc", 5, this::createVpc),
            new Action("DeleteVpc", 3, this::deleteVpc),
            new Action("CreateSubnet", 7, this::createSubnet),
            new Action("DeleteSubnet", 4, this::deleteSubnet),
            new Action("CreateSecurityGroup", 5, this::createGroup),
            new Action("DeleteSecurityGroup", 3, this::deleteGroup),
            new Action("Authorize/Revoke", 12, this::changeRules),
            new Action("CreateNetworkAcl", 3, this::createAcl),
            new Action("DeleteNetworkAcl", 2, this::deleteAcl),
            new Action("Create/ReplaceNetworkAclEntry", 7, this::putAclEntry),
            new Action("DeleteNetworkAclEntry", 3, this::deleteAclEntry),
            new Action("ReplaceNetworkAclAssociation", 3, this::replaceAclAssociation),
            new Action("CreateRouteTable", 2, this::createRouteTable),
            new Action("DeleteRouteTable", 2, this::deleteRouteTable),
            new Action("CreateRoute", 5, this::createRoute),
            new Action("DeleteRoute", 3, this::deleteRoute),
            new Action("AssociateRouteTable", 3, this::associateRouteTable),
            new Action("DisassociateRouteTable", 2, this::disassociateRouteTable),
            new Action("RunInstances", 5, this::runInstances),
            new Action("TerminateInstances", 3, this::terminateInstances),
            new Action("CreateFunction", 8, this::createFunction),
            new Action("UpdateFunctionConfiguration", 5, this::updateFunction),
            new Action("DeleteFunction", 4, this::deleteFunction),
            new Action("DeleteNetworkInterface", 1, this::deleteNetworkInterface),
            new Action("CreateTags", 2, this::createTags),
            new Action("Create/AttachInternetGateway", 3, this::attachGateway),
            new Action("Detach/DeleteInternetGateway", 2, this::detachGateway),
            new Action("AllocateAddress", 2, this::allocateAddress),
            new Action("CreateNatGateway", 4, this::createNatGateway),
            new Action("DeleteNatGateway", 2, this::deleteNatGateway),
            new Action("Describe", 3, this::describe),
            new Action("malformed query", 5, this::malformed));

    @AfterEach
    void stop() {
        http.close();
        worlds.forEach(LambdaWorld::close);
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldKeepEveryTenantServedThroughLongRandomSequencesOfAnyTenantsCalls() throws Exception {
        System.out.println("TenantChaosTest: seed " + SEED + " (replay with -Dhyperplane.chaos.seed=" + SEED + "), " + STEPS + " steps");
        Instant started = Instant.now();
        start();
        for (String name : List.of("a", "b", "c")) {
            Credential credential = server.accounts().create();
            tenants.add(new Tenant(name, credential, world(credential)));
        }
        Credential probeAccount = server.accounts().create();
        LambdaWorld probe = world(probeAccount);
        String probeRole = probe.vpcRole("probe-role");
        // The probe account's function that stays: Active, and its ENI published, after every call.
        String standingVpc = probe.vpc("10.0.0.0/16");
        String standingSubnet = probe.subnet(standingVpc, "10.0.1.0/24");
        standing = new Standing(probeAccount.accountId(), activeProbeFunction(probe, probeRole, STANDING_FUNCTION, standingSubnet,
                probe.group(standingVpc, "standing")));
        int step = 0;
        Map<String, Long> beforeRestart = Map.of();
        try {
            for (step = 1; step <= STEPS; step++) {
                Tenant t = tenants.get(random.nextInt(tenants.size()));
                next(t).run().accept(t);
                checkInvariants();
                if (step % PROBE_EVERY == 0) {
                    probe(probe, probeRole, step);
                }
            }
            step = STEPS;

            // Restart on the same data: it starts, publishes every ENI again, Active functions stay so, and a new tenant is served.
            Map<String, String> states;
            try (Connection c = store()) {
                states = functionStates(c);
            }
            beforeRestart = new TreeMap<>(states.values().stream().collect(Collectors.groupingBy(state -> state, Collectors.counting())));
            worlds.forEach(LambdaWorld::close);
            worlds.clear();
            server.close();
            server = null;
            start();
            checkInvariants();
            Map<String, String> after;
            try (Connection c = store()) {
                after = functionStates(c);
            }
            states.forEach((function, state) -> {
                if (state.equals("Active")) {
                    assertThat(after.get(function)).as("function %s after the restart", function).isEqualTo("Active");
                }
            });
            probe(world(probeAccount), probeRole, STEPS + 1);
            drainPublished();
        } catch (Throwable e) {
            throw new AssertionError("seed " + SEED + ", step " + step + " (replay with -Dhyperplane.chaos.seed=" + SEED + "); the last calls:\n  "
                    + String.join("\n  ", history.subList(Math.max(0, history.size() - HISTORY_SHOWN), history.size())) + "\n" + e.getMessage(), e);
        }
        // What the run covered: per call, how many succeeded of those made.
        Map<String, String> outcomes = history.stream().collect(Collectors.groupingBy(h -> h.split(" ")[1], TreeMap::new,
                Collectors.collectingAndThen(Collectors.toList(), calls -> calls.stream().filter(h -> h.endsWith(" -> ok")).count() + "/" + calls.size())));
        System.out.println("TenantChaosTest: seed " + SEED + ", " + STEPS + " steps, " + history.size() + " calls in "
                + Duration.between(started, Instant.now()).toMillis() + " ms; succeeded of made: " + outcomes + "; config versions up to "
                + lastVersion + ", at most " + mostEnis + " ENIs in one; functions before the restart: " + beforeRestart);
    }

    /** By weight; but a tenant with nothing has little to call, so it makes a VPC and subnets first. */
    private Action next(Tenant t) {
        if (t.vpcs.isEmpty()) {
            return action("CreateVpc");
        }
        if (t.subnets.isEmpty() && chance(50)) {
            return action("CreateSubnet");
        }
        int roll = random.nextInt(actions.stream().mapToInt(Action::weight).sum());
        for (Action a : actions) {
            roll -= a.weight();
            if (roll < 0) {
                return a;
            }
        }
        throw new IllegalStateException("weights");
    }

    private Action action(String name) {
        return actions.stream().filter(a -> a.name().equals(name)).findFirst().orElseThrow();
    }

    private void start() throws IOException {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)
                .withFunctions(FunctionReconciler.Settings.DEFAULTS.withEniGrace(ENI_GRACE)));
        published.clear();
        server.nodeConfig().subscribe(published::add, -1);
    }

    private LambdaWorld world(Credential credential) {
        LambdaWorld w = new LambdaWorld(server, credential);
        worlds.add(w);
        return w;
    }

    // ---- after every call

    private void checkInvariants() throws SQLException {
        try (Connection c = store()) {
            drainPublished();
            List<String> before = column(c, "SELECT id FROM network_interfaces");
            List<String> natsBefore = column(c, "SELECT id FROM nat_gateways WHERE state IN ('pending', 'available')");
            Published now = server.nodeConfig().refresh().join(); // includes every change committed before it; throws if the rebuild does
            drainPublished();
            validate(now);
            Set<String> enis = now.snapshot().enis().stream().map(NodeSnapshot.Eni::id).collect(Collectors.toSet());
            Set<String> still = new HashSet<>(column(c, "SELECT id FROM network_interfaces"));
            for (String eni : before) {
                if (still.contains(eni) && !enis.contains(eni)) {
                    fail("ENI " + eni + " is in the store but not in config version " + now.version() + ": " + server.nodeConfig().rejection(eni));
                }
            }
            Set<String> nats = now.snapshot().natGateways().stream().map(NodeSnapshot.NatGateway::id).collect(Collectors.toSet());
            Set<String> natsStill = new HashSet<>(column(c, "SELECT id FROM nat_gateways WHERE state IN ('pending', 'available')"));
            for (String nat : natsBefore) {
                if (natsStill.contains(nat) && !nats.contains(nat)) {
                    fail("NAT gateway " + nat + " is in the store but not in config version " + now.version() + ": "
                            + server.nodeConfig().natGatewayRejection(nat));
                }
            }
            if (standing != null) {
                assertThat(enis).as("the probe account's standing ENI is published").contains(standing.eni());
                assertThat(functionStates(c).get(standing.account() + "/" + STANDING_FUNCTION)).as("the probe account's standing function")
                        .isEqualTo("Active");
            }
            for (Map.Entry<String, String> check : NONE_IN_THE_STORE.entrySet()) {
                assertThat(column(c, check.getValue())).as(check.getKey()).isEmpty();
            }
        }
        server.reconciler().reconcileOnce(); // throws if a round does
        server.natGateways().reconcileOnce();
    }

    /** Nothing in the store refers across VPCs or accounts, or to what is gone, and no function failed for a reason of ours. */
    private static final Map<String, String> NONE_IN_THE_STORE = new LinkedHashMap<>();

    static {
        NONE_IN_THE_STORE.put("ENIs in a group of another VPC", "SELECT g.eni_id FROM network_interface_groups g JOIN network_interfaces e"
                + " ON e.id = g.eni_id LEFT JOIN security_groups s ON s.id = g.group_id WHERE s.id IS NULL OR s.vpc_id <> e.vpc_id");
        NONE_IN_THE_STORE.put("ENIs in a subnet of another VPC or account", "SELECT e.id FROM network_interfaces e LEFT JOIN subnets s"
                + " ON s.id = e.subnet_id WHERE s.id IS NULL OR s.vpc_id <> e.vpc_id OR s.account_id <> e.account_id");
        NONE_IN_THE_STORE.put("live instances in a group of another VPC", "SELECT i.id FROM instance_security_groups m JOIN instances i"
                + " ON i.id = m.instance_id LEFT JOIN security_groups s ON s.id = m.group_id"
                + " WHERE i.state <> 'terminated' AND (s.id IS NULL OR s.vpc_id <> i.vpc_id)");
        NONE_IN_THE_STORE.put("live instances in a subnet of another VPC or account", "SELECT i.id FROM instances i LEFT JOIN subnets s"
                + " ON s.id = i.subnet_id WHERE i.state <> 'terminated' AND (s.id IS NULL OR s.vpc_id <> i.vpc_id OR s.account_id <> i.account_id)");
        NONE_IN_THE_STORE.put("rules naming a group of another VPC, or one that is gone", "SELECT r.id FROM security_group_rules r"
                + " JOIN security_groups g ON g.id = r.group_id LEFT JOIN security_groups o ON o.id = r.referenced_group_id"
                + " WHERE r.referenced_group_id IS NOT NULL AND (o.id IS NULL OR o.vpc_id <> g.vpc_id)");
        NONE_IN_THE_STORE.put("subnets without exactly one network ACL of their VPC", "SELECT s.id FROM subnets s WHERE (SELECT COUNT(*)"
                + " FROM network_acl_associations a JOIN network_acls n ON n.id = a.acl_id WHERE a.subnet_id = s.id AND n.vpc_id = s.vpc_id) <> 1");
        NONE_IN_THE_STORE.put("subnets with a route table of another VPC", "SELECT s.id FROM route_table_associations a JOIN route_tables t"
                + " ON t.id = a.route_table_id JOIN subnets s ON s.id = a.subnet_id WHERE t.vpc_id <> s.vpc_id");
        NONE_IN_THE_STORE.put("VPCs without exactly one main route table", "SELECT v.id FROM vpcs v WHERE (SELECT COUNT(*)"
                + " FROM route_table_associations a JOIN route_tables t ON t.id = a.route_table_id WHERE a.is_main AND t.vpc_id = v.id) <> 1");
        NONE_IN_THE_STORE.put("addresses held twice in one subnet", "SELECT subnet_id || ' ' || private_ip FROM (SELECT subnet_id, private_ip"
                + " FROM instances WHERE private_ip IS NOT NULL UNION ALL SELECT subnet_id, private_ip FROM network_interfaces"
                + " UNION ALL SELECT subnet_id, private_ip FROM nat_gateways WHERE mac IS NOT NULL) x"
                + " GROUP BY subnet_id, private_ip HAVING COUNT(*) > 1");
        NONE_IN_THE_STORE.put("public addresses held twice", "SELECT public_ip FROM (SELECT public_ip FROM elastic_ips"
                + " UNION ALL SELECT public_ip FROM instances WHERE public_ip IS NOT NULL) x GROUP BY public_ip HAVING COUNT(*) > 1");
        NONE_IN_THE_STORE.put("internet gateways attached to another account's VPC", "SELECT g.id FROM internet_gateways g JOIN vpcs v"
                + " ON v.id = g.vpc_id WHERE v.account_id <> g.account_id");
        NONE_IN_THE_STORE.put("NAT gateways in a subnet of another account, or holding an address with a subnet gone",
                "SELECT n.id FROM nat_gateways n LEFT JOIN subnets s ON s.id = n.subnet_id WHERE n.mac IS NOT NULL"
                + " AND (s.id IS NULL OR s.account_id <> n.account_id OR s.vpc_id <> n.vpc_id)");
        NONE_IN_THE_STORE.put("Elastic IPs associated across accounts", "SELECT e.allocation_id FROM elastic_ips e LEFT JOIN instances i"
                + " ON i.id = e.instance_id LEFT JOIN nat_gateways n ON n.eni_id = e.network_interface_id"
                + " WHERE (i.id IS NOT NULL AND i.account_id <> e.account_id) OR (n.id IS NOT NULL AND n.account_id <> e.account_id)");
        NONE_IN_THE_STORE.put("NAT gateways failed with InternalError", "SELECT id || ': ' || failure_message FROM nat_gateways"
                + " WHERE failure_code = 'InternalError'");
        NONE_IN_THE_STORE.put("functions failed with InternalError", "SELECT account_id || '/' || name || ': '"
                + " || COALESCE(state_reason, last_update_reason) FROM functions"
                + " WHERE state_reason_code = 'InternalError' OR last_update_reason_code = 'InternalError'");
    }

    /** Every version published since the last look, in order: valid, and newer than the one before. */
    private void drainPublished() {
        for (Published p = published.poll(); p != null; p = published.poll()) {
            validate(p);
            assertThat(p.version()).as("config versions only grow").isGreaterThan(lastVersion);
            lastVersion = p.version();
            mostEnis = Math.max(mostEnis, p.snapshot().enis().size());
        }
    }

    /** Valid again from its parts, and the same after the JSON nodes are sent. */
    private static void validate(Published p) {
        NodeSnapshot s = p.snapshot();
        NodeSnapshot again = new NodeSnapshot(s.version(), s.eeGateway(), s.vpcs(), s.subnets(), s.securityGroups(), s.networkAcls(),
                s.routeTables(), s.enis(), s.executionEnvironments(), s.natGateways());
        assertThat(again).isEqualTo(s);
        assertThat(SnapshotJson.parse(p.json())).as("config version %d after JSON", s.version()).isEqualTo(s);
    }

    /** Account/name -> state of every function. */
    private static Map<String, String> functionStates(Connection c) throws SQLException {
        Map<String, String> states = new HashMap<>();
        for (String row : column(c, "SELECT account_id || '/' || name || '=' || state FROM functions")) {
            states.put(row.substring(0, row.indexOf('=')), row.substring(row.indexOf('=') + 1));
        }
        return states;
    }

    private static List<String> column(Connection c, String sql) throws SQLException {
        List<String> values = new ArrayList<>();
        try (PreparedStatement s = c.prepareStatement(sql); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                values.add(r.getString(1));
            }
        }
        return values;
    }

    private Connection store() throws SQLException {
        return DriverManager.getConnection(server.databaseUrl(), "sa", "");
    }

    // ---- the probe: an account nobody else touches is served

    /** A function of the probe account's in VPC 10.0.0.0/16, subnet 10.0.1.0/24, Active; its ENI's id. */
    private String activeProbeFunction(LambdaWorld w, String role, String function, String subnet, String group) {
        w.create(function, role, List.of(subnet), List.of(group));
        await().atMost(PROBE_ACTIVE_WITHIN).until(() -> {
            var configuration = w.configuration(function);
            assertThat(configuration.state()).as("probe function %s: %s", function, configuration.stateReason()).isNotEqualTo(State.FAILED);
            return configuration.state() == State.ACTIVE;
        });
        return w.enis().stream().filter(e -> e.subnetId().equals(subnet)).findFirst().orElseThrow().networkInterfaceId();
    }

    /**
     * A new VPC, subnet, group and function of the probe account's: Active, and a security-group
     * rule and a network ACL entry it adds reach the nodes within a second, with nobody asking for
     * a rebuild; then all of it goes again.
     */
    private void probe(LambdaWorld w, String role, int round) {
        String vpc = w.vpc("10.0.0.0/16");
        String subnet = w.subnet(vpc, "10.0.1.0/24");
        String group = w.group(vpc, "probe");
        String function = "probe-" + round;
        activeProbeFunction(w, role, function, subnet, group);
        int port = 1000 + round;
        w.ec2.authorizeSecurityGroupEgress(b -> b.groupId(group).ipPermissions(p -> p.ipProtocol("tcp").fromPort(port).toPort(port)
                .ipRanges(r -> r.cidrIp("10.0.1.0/24"))));
        await().atMost(RULE_PUBLISHED_WITHIN).until(() -> server.nodeConfig().current().snapshot().securityGroups().stream()
                .anyMatch(g -> g.id().equals(group) && g.egress().stream().anyMatch(rule -> rule.fromPort() == port)));
        String acl = w.ec2.describeNetworkAcls(b -> b.filters(Filter.builder().name("vpc-id").values(vpc).build())).networkAcls().getFirst().networkAclId();
        w.ec2.createNetworkAclEntry(b -> b.networkAclId(acl).ruleNumber(10).egress(true).protocol("6").ruleAction("deny")
                .cidrBlock("10.0.1.0/24").portRange(r -> r.from(port).to(port)));
        await().atMost(RULE_PUBLISHED_WITHIN).until(() -> server.nodeConfig().current().snapshot().networkAcls().stream()
                .anyMatch(a -> a.id().equals(acl) && a.entries().stream().anyMatch(e -> e.ruleNumber() == 10 && e.fromPort() == port)));
        w.lambda.deleteFunction(b -> b.functionName(function));
        // Its ENI goes after the grace period; until then the subnet has a dependency.
        await().atMost(PROBE_CLEANUP_WITHIN).until(() -> {
            server.reconciler().reconcileOnce(); // not what is tested here: no need to wait for the next round
            try {
                w.ec2.deleteSubnet(b -> b.subnetId(subnet));
                return true;
            } catch (AwsServiceException e) {
                assertThat(e.awsErrorDetails().errorCode()).isEqualTo("DependencyViolation");
                return false;
            }
        });
        w.ec2.deleteSecurityGroup(b -> b.groupId(group));
        w.ec2.deleteVpc(b -> b.vpcId(vpc));
        history.add("- Probe " + function + " -> ok");
    }

    // ---- one call, and what may come of it

    /**
     * Makes one call; returns its answer, or null when the API refused it with an AWS error (a 4xx
     * with a code). A call that must fail (it names what the caller does not own) must not succeed.
     */
    private <T> T call(Tenant t, String what, boolean mustFail, Supplier<T> request) {
        String entry = t.name + " " + shortened(what);
        history.add(entry + " -> ?");
        try {
            T answer = request.get();
            history.set(history.size() - 1, entry + " -> ok");
            assertThat(mustFail).as("%s succeeded, but it names a resource the caller does not have or a malformed value", entry).isFalse();
            return answer;
        } catch (AwsServiceException e) {
            String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            history.set(history.size() - 1, entry + " -> " + code);
            assertAwsError(entry, e.statusCode(), code, e.getMessage());
            return null;
        }
    }

    private static void assertAwsError(String what, int status, String code, String message) {
        assertThat(status).as("%s: HTTP status of the error %s (%s)", what, code, message).isBetween(400, 499);
        assertThat(code).as("%s: error code (%s)", what, message).isNotBlank().isNotIn("InternalError", "InternalFailure", "ServiceException");
    }

    /** A raw EC2 Query call (values the SDK's types cannot carry); it must be refused with an AWS error. */
    private void raw(Tenant t, String what, Map<String, String> parameters) {
        String entry = t.name + " raw " + shortened(what);
        history.add(entry + " -> ?");
        Map<String, String> form = new LinkedHashMap<>();
        form.put("Version", "2016-11-15");
        form.putAll(parameters);
        byte[] body = form.entrySet().stream().map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&")).getBytes(StandardCharsets.UTF_8);
        URI uri = server.endpoint().resolve("/");
        String contentType = "application/x-www-form-urlencoded; charset=utf-8";
        Map<String, String> headers = SigV4Signer.sign("POST", "/", null, Map.of("host", uri.getHost() + ":" + uri.getPort(),
                "content-type", contentType), body, t.credential, "us-east-1", "ec2", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(entry + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(entry + ": interrupted", e);
        }
        Matcher code = ERROR_CODE.matcher(response.body());
        String found = code.find() ? code.group(1) : null;
        history.set(history.size() - 1, entry + " -> " + (response.statusCode() == 200 ? "ok" : found));
        assertThat(response.statusCode()).as("%s succeeded: %s", entry, response.body()).isNotEqualTo(200);
        assertAwsError(entry, response.statusCode(), found, response.body());
    }

    /** The call as the history shows it: long values cut, characters a terminal would act on escaped. */
    private static String shortened(String what) {
        StringBuilder out = new StringBuilder();
        for (String word : what.split(" ", -1)) {
            String shown = word.length() > HISTORY_WORD ? word.substring(0, HISTORY_WORD) + "...(" + word.length() + " chars)" : word;
            out.append(out.isEmpty() ? "" : " ").append(shown.codePoints()
                    .mapToObj(c -> c < 0x20 ? String.format("\\u%04x", c) : Character.toString(c)).collect(Collectors.joining()));
        }
        return out.toString();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    // ---- choosing

    private <T> T oneOf(List<T> items) {
        return items.get(random.nextInt(items.size()));
    }

    private boolean chance(int percent) {
        return random.nextInt(100) < percent;
    }

    private Tenant other(Tenant t) {
        List<Tenant> others = tenants.stream().filter(o -> o != t).toList();
        return oneOf(others);
    }

    /**
     * Mostly one of the tenant's own live ids of a kind; sometimes one it deleted, another
     * tenant's, or one that never existed (those must fail).
     */
    private Pick pick(Tenant t, Function<Tenant, Map<String, String>> kind, String prefix) {
        int roll = random.nextInt(100);
        List<String> own = List.copyOf(kind.apply(t).keySet());
        if (roll < 80 && !own.isEmpty()) {
            return new Pick(oneOf(own), false);
        }
        List<String> deleted = t.deleted.stream().filter(id -> id.startsWith(prefix + "-")).toList();
        if (roll < 86 && !deleted.isEmpty()) {
            return new Pick(oneOf(deleted), true);
        }
        List<String> foreign = List.copyOf(kind.apply(other(t)).keySet());
        if (roll < 94 && !foreign.isEmpty()) {
            return new Pick(oneOf(foreign), true);
        }
        return new Pick(garbage(prefix), true);
    }

    private String garbage(String prefix) {
        return switch (random.nextInt(7)) {
            case 0 -> prefix + "-" + hex(17); // well-formed, never made
            case 1 -> prefix + "-";
            case 2 -> prefix.toUpperCase(Locale.ROOT) + "-" + hex(8);
            case 3 -> prefix + "-" + "f".repeat(300);
            case 4 -> prefix + "-1' OR '1'='1";
            case 5 -> prefix + "-<x>&\u0001";
            default -> "";
        };
    }

    private String hex(int digits) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < digits; i++) {
            s.append(Character.forDigit(random.nextInt(16), 16));
        }
        return s.toString();
    }

    /** A CIDR for a subnet of a VPC with {@code vpcCidr}: mostly inside it and often overlapping its siblings. */
    private String subnetCidr(String vpcCidr) {
        if (chance(8)) {
            return oneOf(BAD_CIDRS);
        }
        if (chance(8)) {
            return oneOf(List.of("192.168.7.0/24", "10.200.0.0/24", "172.31.0.0/20"));
        }
        int prefix = oneOf(List.of(24, 24, 24, 25, 26, 28, 20, 16, 29));
        int base = Ipv4Cidr.parse(vpcCidr).network();
        int size = prefix == 0 ? 0 : 1 << (32 - prefix);
        int network = (base + random.nextInt(16) * size) & Ipv4Address.mask(prefix);
        return Ipv4Address.format(network) + "/" + prefix;
    }

    // ---- VPCs and subnets

    private void createVpc(Tenant t) {
        boolean bad = chance(15);
        String cidr = oneOf(bad ? BAD_VPC_CIDRS : VPC_CIDRS);
        var created = call(t, "CreateVpc " + cidr, bad, () -> t.world.ec2.createVpc(b -> b.cidrBlock(cidr)));
        if (created == null) {
            return;
        }
        String vpc = created.vpc().vpcId();
        t.vpcs.put(vpc, created.vpc().cidrBlock());
        Filter inVpc = Filter.builder().name("vpc-id").values(vpc).build();
        String group = t.world.ec2.describeSecurityGroups(b -> b.filters(inVpc, Filter.builder().name("group-name").values("default").build()))
                .securityGroups().getFirst().groupId();
        String acl = t.world.ec2.describeNetworkAcls(b -> b.filters(inVpc, Filter.builder().name("default").values("true").build()))
                .networkAcls().getFirst().networkAclId();
        String table = t.world.ec2.describeRouteTables(b -> b.filters(inVpc, Filter.builder().name("association.main").values("true").build()))
                .routeTables().getFirst().routeTableId();
        t.groups.put(group, vpc);
        t.acls.put(acl, vpc);
        t.tables.put(table, vpc);
        t.defaults.addAll(List.of(group, acl, table));
        t.aclEntries.add(new AclEntry(acl, true, 100));
        t.aclEntries.add(new AclEntry(acl, false, 100));
    }

    private void deleteVpc(Tenant t) {
        Pick vpc = pick(t, x -> x.vpcs, "vpc");
        if (call(t, "DeleteVpc " + vpc.id(), vpc.foreign(), () -> t.world.ec2.deleteVpc(b -> b.vpcId(vpc.id()))) == null) {
            return;
        }
        for (Map<String, String> kind : List.of(t.subnets, t.groups, t.acls, t.tables)) {
            List<String> inside = kind.entrySet().stream().filter(e -> e.getValue().equals(vpc.id())).map(Map.Entry::getKey).toList();
            assertThat(inside.stream().filter(id -> !t.defaults.contains(id)).toList()).as("DeleteVpc %s succeeded while it still has", vpc.id()).isEmpty();
            inside.forEach(id -> forget(t, id));
        }
        t.vpcs.remove(vpc.id());
        t.deleted.add(vpc.id());
    }

    private void forget(Tenant t, String id) {
        t.subnets.remove(id);
        t.groups.remove(id);
        t.acls.remove(id);
        t.tables.remove(id);
        t.defaults.remove(id);
        t.rules.removeIf(r -> r.group().equals(id));
        t.aclEntries.removeIf(e -> e.acl().equals(id));
        t.routes.removeIf(r -> r.table().equals(id));
        t.tableAssociations.values().removeIf(id::equals);
        t.deleted.add(id);
    }

    private void createSubnet(Tenant t) {
        Pick vpc = pick(t, x -> x.vpcs, "vpc");
        String cidr = subnetCidr(t.vpcs.getOrDefault(vpc.id(), "10.0.0.0/16"));
        boolean bad = vpc.foreign() || BAD_CIDRS.contains(cidr);
        var created = call(t, "CreateSubnet " + vpc.id() + " " + cidr, bad, () -> t.world.ec2.createSubnet(b -> b.vpcId(vpc.id()).cidrBlock(cidr)));
        if (created != null) {
            t.subnets.put(created.subnet().subnetId(), vpc.id());
        }
    }

    private void deleteSubnet(Tenant t) {
        Pick subnet = pick(t, x -> x.subnets, "subnet");
        if (call(t, "DeleteSubnet " + subnet.id(), subnet.foreign(), () -> t.world.ec2.deleteSubnet(b -> b.subnetId(subnet.id()))) == null) {
            return;
        }
        List<String> live = t.instances.entrySet().stream().filter(e -> e.getValue().equals(subnet.id()) && !t.terminated.contains(e.getKey()))
                .map(Map.Entry::getKey).toList();
        assertThat(live).as("DeleteSubnet %s succeeded with live instances", subnet.id()).isEmpty();
        forget(t, subnet.id());
    }

    // ---- security groups

    private void createGroup(Tenant t) {
        Pick vpc = pick(t, x -> x.vpcs, "vpc");
        String name = chance(10) ? oneOf(List.of("default", "sg-123", "n".repeat(256))) : "g" + random.nextInt(12);
        boolean bad = vpc.foreign() || name.equals("default") || name.startsWith("sg-") || name.length() > 255;
        var created = call(t, "CreateSecurityGroup " + vpc.id() + " " + name.substring(0, Math.min(name.length(), 12)), bad,
                () -> t.world.ec2.createSecurityGroup(b -> b.vpcId(vpc.id()).groupName(name).description("chaos " + name)));
        if (created != null) {
            t.groups.put(created.groupId(), vpc.id());
        }
    }

    private void deleteGroup(Tenant t) {
        Pick group = deletable(t, x -> x.groups, "sg");
        boolean bad = group.foreign() || t.defaults.contains(group.id());
        if (call(t, "DeleteSecurityGroup " + group.id(), bad, () -> t.world.ec2.deleteSecurityGroup(b -> b.groupId(group.id()))) != null) {
            forget(t, group.id());
        }
    }

    /** Authorize or revoke one ingress or egress permission: a CIDR or a group, any protocol, sometimes invalid. */
    private void changeRules(Tenant t) {
        boolean authorize = random.nextInt(3) > 0;
        Rule rule;
        boolean bad;
        if (!authorize && !t.rules.isEmpty() && chance(75)) {
            rule = oneOf(t.rules);
            bad = false;
        } else {
            Pick group = pick(t, x -> x.groups, "sg");
            String protocol = chance(8) ? oneOf(List.of("foo", "256", "-2")) : oneOf(List.of("tcp", "tcp", "udp", "icmp", "-1", "6", "17", "50"));
            bad = group.foreign() || List.of("foo", "256", "-2").contains(protocol);
            IpPermission.Builder permission = IpPermission.builder().ipProtocol(protocol);
            if (List.of("tcp", "udp", "6", "17").contains(protocol)) {
                int[] ports = chance(10) ? oneOf(List.of(new int[] {-1, -1}, new int[] {70000, 70000}, new int[] {2000, 1000}))
                        : oneOf(List.of(new int[] {80, 80}, new int[] {0, 65535}, new int[] {1000, 2000}, new int[] {443, 443}));
                bad |= ports[0] < 0 || ports[1] > 65535 || ports[0] > ports[1];
                permission.fromPort(ports[0]).toPort(ports[1]);
            } else if (protocol.equals("icmp")) {
                int[] typeCode = oneOf(List.of(new int[] {8, 0}, new int[] {-1, -1}, new int[] {3, 4}));
                permission.fromPort(typeCode[0]).toPort(typeCode[1]);
            }
            if (chance(70)) {
                boolean badCidr = chance(10);
                String cidr = oneOf(badCidr ? BAD_CIDRS : PEER_CIDRS);
                bad |= badCidr;
                permission.ipRanges(IpRange.builder().cidrIp(cidr).build());
            } else {
                Pick peer = chance(70) && t.groups.containsKey(group.id()) ? sameVpc(t, x -> x.groups, t.groups.get(group.id()), "sg") : pick(t, x -> x.groups, "sg");
                String peerVpc = t.groups.get(peer.id());
                bad |= peer.foreign() || (t.groups.containsKey(group.id()) && !t.groups.get(group.id()).equals(peerVpc));
                permission.userIdGroupPairs(UserIdGroupPair.builder().groupId(peer.id()).build());
            }
            rule = new Rule(group.id(), random.nextBoolean(), permission.build());
        }
        String what = (authorize ? "Authorize" : "Revoke") + (rule.egress() ? "Egress " : "Ingress ") + rule.group() + " " + describe(rule.permission());
        Object done = call(t, what, bad, () -> {
            var ec2 = t.world.ec2;
            if (authorize) {
                return rule.egress() ? ec2.authorizeSecurityGroupEgress(b -> b.groupId(rule.group()).ipPermissions(rule.permission()))
                        : ec2.authorizeSecurityGroupIngress(b -> b.groupId(rule.group()).ipPermissions(rule.permission()));
            }
            return rule.egress() ? ec2.revokeSecurityGroupEgress(b -> b.groupId(rule.group()).ipPermissions(rule.permission()))
                    : ec2.revokeSecurityGroupIngress(b -> b.groupId(rule.group()).ipPermissions(rule.permission()));
        });
        if (done != null) {
            if (authorize) {
                t.rules.add(rule);
            } else {
                t.rules.remove(rule);
            }
        }
    }

    private static String describe(IpPermission p) {
        String peer = p.ipRanges().isEmpty() ? p.userIdGroupPairs().getFirst().groupId() : p.ipRanges().getFirst().cidrIp();
        return p.ipProtocol() + " " + p.fromPort() + "-" + p.toPort() + " " + peer;
    }

    /** Mostly one the tenant made itself (not a VPC's default, which goes only with its VPC), else any pick. */
    private Pick deletable(Tenant t, Function<Tenant, Map<String, String>> kind, String prefix) {
        List<String> made = kind.apply(t).keySet().stream().filter(id -> !t.defaults.contains(id)).toList();
        return !made.isEmpty() && chance(80) ? new Pick(oneOf(made), false) : pick(t, kind, prefix);
    }

    /** Mostly one of the tenant's ids of a kind in {@code vpc}, else any pick. */
    private Pick sameVpc(Tenant t, Function<Tenant, Map<String, String>> kind, String vpc, String prefix) {
        List<String> inVpc = kind.apply(t).entrySet().stream().filter(e -> e.getValue().equals(vpc)).map(Map.Entry::getKey).toList();
        return inVpc.isEmpty() ? pick(t, kind, prefix) : new Pick(oneOf(inVpc), false);
    }

    // ---- network ACLs

    private void createAcl(Tenant t) {
        Pick vpc = pick(t, x -> x.vpcs, "vpc");
        var created = call(t, "CreateNetworkAcl " + vpc.id(), vpc.foreign(), () -> t.world.ec2.createNetworkAcl(b -> b.vpcId(vpc.id())));
        if (created != null) {
            t.acls.put(created.networkAcl().networkAclId(), vpc.id());
        }
    }

    private void deleteAcl(Tenant t) {
        Pick acl = deletable(t, x -> x.acls, "acl");
        boolean bad = acl.foreign() || t.defaults.contains(acl.id());
        if (call(t, "DeleteNetworkAcl " + acl.id(), bad, () -> t.world.ec2.deleteNetworkAcl(b -> b.networkAclId(acl.id()))) != null) {
            forget(t, acl.id());
        }
    }

    private void putAclEntry(Tenant t) {
        boolean replace = chance(35);
        Pick acl;
        int number;
        boolean egress;
        if (replace && !t.aclEntries.isEmpty() && chance(80)) {
            AclEntry existing = oneOf(t.aclEntries);
            acl = new Pick(existing.acl(), false);
            number = existing.number();
            egress = existing.egress();
        } else {
            acl = pick(t, x -> x.acls, "acl");
            number = chance(8) ? oneOf(List.of(0, 32767, 40000)) : oneOf(List.of(100, 100, 110, 200, 1 + random.nextInt(32766)));
            egress = random.nextBoolean();
        }
        String protocol = chance(5) ? "foo" : oneOf(List.of("6", "17", "1", "-1", "-1", "tcp", "50"));
        String action = chance(5) ? "maybe" : oneOf(List.of("allow", "allow", "deny"));
        boolean badCidr = chance(5);
        String cidr = oneOf(badCidr ? BAD_CIDRS : PEER_CIDRS);
        boolean bad = acl.foreign() || number < 1 || number > 32766 || protocol.equals("foo") || action.equals("maybe") || badCidr;
        int[] ports = null;
        if (List.of("6", "17", "tcp").contains(protocol)) {
            ports = chance(10) ? oneOf(List.of(new int[] {2000, 1000}, new int[] {0, 70000}))
                    : oneOf(List.of(new int[] {80, 80}, new int[] {0, 65535}, new int[] {1024, 65535}));
            bad |= ports[0] > ports[1] || ports[1] > 65535;
        }
        int[] range = ports;
        String what = (replace ? "ReplaceNetworkAclEntry " : "CreateNetworkAclEntry ") + acl.id() + " " + number + (egress ? " egress " : " ingress ")
                + protocol + " " + action + " " + cidr + (range == null ? "" : " " + range[0] + "-" + range[1]);
        Object done = call(t, what, bad, () -> {
            var ec2 = t.world.ec2;
            if (replace) {
                return ec2.replaceNetworkAclEntry(b -> {
                    b.networkAclId(acl.id()).ruleNumber(number).egress(egress).protocol(protocol).ruleAction(action).cidrBlock(cidr);
                    if (range != null) {
                        b.portRange(p -> p.from(range[0]).to(range[1]));
                    } else if (protocol.equals("1")) {
                        b.icmpTypeCode(i -> i.type(8).code(-1));
                    }
                });
            }
            return ec2.createNetworkAclEntry(b -> {
                b.networkAclId(acl.id()).ruleNumber(number).egress(egress).protocol(protocol).ruleAction(action).cidrBlock(cidr);
                if (range != null) {
                    b.portRange(p -> p.from(range[0]).to(range[1]));
                } else if (protocol.equals("1")) {
                    b.icmpTypeCode(i -> i.type(-1).code(-1));
                }
            });
        });
        AclEntry entry = new AclEntry(acl.id(), egress, number);
        if (done != null && !t.aclEntries.contains(entry)) {
            t.aclEntries.add(entry);
        }
    }

    private void deleteAclEntry(Tenant t) {
        AclEntry entry = !t.aclEntries.isEmpty() && chance(75) ? oneOf(t.aclEntries)
                : new AclEntry(pick(t, x -> x.acls, "acl").id(), random.nextBoolean(), 1 + random.nextInt(300));
        boolean bad = !t.acls.containsKey(entry.acl());
        if (call(t, "DeleteNetworkAclEntry " + entry, bad, () -> t.world.ec2.deleteNetworkAclEntry(b -> b.networkAclId(entry.acl())
                .egress(entry.egress()).ruleNumber(entry.number()))) != null) {
            t.aclEntries.remove(entry);
        }
    }

    private void replaceAclAssociation(Tenant t) {
        Pick subnet = pick(t, x -> x.subnets, "subnet");
        List<NetworkAclAssociation> current = call(t, "DescribeNetworkAcls association.subnet-id=" + subnet.id(), false,
                () -> t.world.ec2.describeNetworkAcls(b -> b.filters(Filter.builder().name("association.subnet-id").values(subnet.id()).build()))
                        .networkAcls().stream().flatMap(a -> a.associations().stream()).filter(a -> a.subnetId().equals(subnet.id())).toList());
        boolean known = current != null && !current.isEmpty();
        assertThat(known).as("subnet %s has a network ACL association", subnet.id()).isEqualTo(!subnet.foreign());
        String association = known ? current.getFirst().networkAclAssociationId() : garbage("aclassoc");
        String vpc = t.subnets.get(subnet.id());
        Pick acl = vpc != null && chance(80) ? sameVpc(t, x -> x.acls, vpc, "acl") : pick(t, x -> x.acls, "acl");
        boolean bad = !known || acl.foreign() || !Objects.equals(vpc, t.acls.get(acl.id()));
        call(t, "ReplaceNetworkAclAssociation " + association + " " + acl.id(), bad,
                () -> t.world.ec2.replaceNetworkAclAssociation(b -> b.associationId(association).networkAclId(acl.id())));
    }

    // ---- route tables

    private void createRouteTable(Tenant t) {
        Pick vpc = pick(t, x -> x.vpcs, "vpc");
        var created = call(t, "CreateRouteTable " + vpc.id(), vpc.foreign(), () -> t.world.ec2.createRouteTable(b -> b.vpcId(vpc.id())));
        if (created != null) {
            t.tables.put(created.routeTable().routeTableId(), vpc.id());
        }
    }

    private void deleteRouteTable(Tenant t) {
        Pick table = deletable(t, x -> x.tables, "rtb");
        boolean bad = table.foreign() || t.defaults.contains(table.id());
        if (call(t, "DeleteRouteTable " + table.id(), bad, () -> t.world.ec2.deleteRouteTable(b -> b.routeTableId(table.id()))) != null) {
            forget(t, table.id());
        }
    }

    private void createRoute(Tenant t) {
        Pick table = pick(t, x -> x.tables, "rtb");
        String vpcCidr = t.vpcs.get(t.tables.get(table.id()));
        boolean badDestination = chance(8);
        String destination = badDestination ? oneOf(BAD_CIDRS)
                : oneOf(List.of("0.0.0.0/0", "0.0.0.0/0", "10.0.0.0/8", "10.0.1.0/24", "192.168.0.0/16", "100.64.0.0/10", "198.18.0.0/15",
                vpcCidr == null ? "10.0.0.0/16" : vpcCidr));
        List<String[]> targets = new ArrayList<>(List.of(new String[] {"gateway", "igw-" + hex(17)}, new String[] {"nat", "nat-" + hex(17)},
                new String[] {"eni", "eni-" + hex(17)}, new String[] {"peering", "pcx-" + hex(17)}, new String[] {"gateway", "local"},
                new String[] {"gateway", "blackhole"}, new String[] {"gateway", " "}, new String[] {"gateway", "igw-" + "0".repeat(80)},
                new String[] {"none", null}));
        if (!t.instances.isEmpty()) {
            targets.add(new String[] {"instance", oneOf(List.copyOf(t.instances.keySet()))});
        }
        String[] target = oneOf(targets);
        boolean bad = table.foreign() || badDestination || target[1] == null;
        var done = call(t, "CreateRoute " + table.id() + " " + destination + " " + target[0] + " " + target[1], bad, () -> t.world.ec2.createRoute(b -> {
            b.routeTableId(table.id()).destinationCidrBlock(destination);
            switch (target[0]) {
                case "gateway" -> b.gatewayId(target[1]);
                case "nat" -> b.natGatewayId(target[1]);
                case "eni" -> b.networkInterfaceId(target[1]);
                case "peering" -> b.vpcPeeringConnectionId(target[1]);
                case "instance" -> b.instanceId(target[1]);
                default -> { }
            }
        }));
        Route route = new Route(table.id(), destination);
        if (done != null && !t.routes.contains(route)) {
            t.routes.add(route);
        }
    }

    private void deleteRoute(Tenant t) {
        Route route = !t.routes.isEmpty() && chance(75) ? oneOf(t.routes)
                : new Route(pick(t, x -> x.tables, "rtb").id(), oneOf(List.of("0.0.0.0/0", "10.0.0.0/16", "10.0.0.0/8")));
        boolean bad = !t.tables.containsKey(route.table());
        if (call(t, "DeleteRoute " + route.table() + " " + route.destination(), bad,
                () -> t.world.ec2.deleteRoute(b -> b.routeTableId(route.table()).destinationCidrBlock(route.destination()))) != null) {
            t.routes.remove(route);
        }
    }

    private void associateRouteTable(Tenant t) {
        Pick subnet = pick(t, x -> x.subnets, "subnet");
        String vpc = t.subnets.get(subnet.id());
        Pick table = vpc != null && chance(80) ? sameVpc(t, x -> x.tables, vpc, "rtb") : pick(t, x -> x.tables, "rtb");
        boolean bad = subnet.foreign() || table.foreign() || !Objects.equals(t.tables.get(table.id()), vpc);
        var done = call(t, "AssociateRouteTable " + table.id() + " " + subnet.id(), bad,
                () -> t.world.ec2.associateRouteTable(b -> b.routeTableId(table.id()).subnetId(subnet.id())));
        if (done != null) {
            t.tableAssociations.put(done.associationId(), subnet.id());
        }
    }

    private void disassociateRouteTable(Tenant t) {
        boolean known = !t.tableAssociations.isEmpty() && chance(80);
        String association = known ? oneOf(List.copyOf(t.tableAssociations.keySet())) : garbage("rtbassoc");
        if (call(t, "DisassociateRouteTable " + association, !known,
                () -> t.world.ec2.disassociateRouteTable(b -> b.associationId(association))) != null) {
            t.tableAssociations.remove(association);
        }
    }

    // ---- instances

    private void runInstances(Tenant t) {
        Pick subnet = pick(t, x -> x.subnets, "subnet");
        String vpc = t.subnets.get(subnet.id());
        List<Pick> groups = new ArrayList<>();
        for (int i = random.nextInt(3); i > 0; i--) {
            groups.add(vpc != null && chance(85) ? sameVpc(t, x -> x.groups, vpc, "sg") : pick(t, x -> x.groups, "sg"));
        }
        int[] count = oneOf(List.of(new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 2}, new int[] {2, 3},
                new int[] {0, 1}, new int[] {3, 2}));
        String address = chance(20) ? oneOf(List.of("10.0.1.4", "10.0.1.5", "10.0.0.10", "10.0.1.300", "x")) : null;
        boolean bad = subnet.foreign() || count[0] < 1 || count[0] > count[1] || "10.0.1.300".equals(address) || "x".equals(address)
                || groups.stream().anyMatch(g -> g.foreign() || !Objects.equals(t.groups.get(g.id()), vpc));
        String image = chance(90) ? "ami-0123456789abcdef0" : "ami-" + "9".repeat(100);
        String type = chance(90) ? "t3.micro" : "t3." + "huge".repeat(20);
        List<String> groupIds = groups.stream().map(Pick::id).toList();
        var done = call(t, "RunInstances " + subnet.id() + " " + groupIds + " " + count[0] + ".." + count[1] + " " + address + " "
                + image.length() + "/" + type.length(), bad, () -> t.world.ec2.runInstances(b -> {
                    b.imageId(image).instanceType(type).subnetId(subnet.id()).minCount(count[0]).maxCount(count[1]).privateIpAddress(address);
                    if (!groupIds.isEmpty()) {
                        b.securityGroupIds(groupIds);
                    }
                }));
        if (done != null) {
            done.instances().forEach(i -> t.instances.put(i.instanceId(), subnet.id()));
        }
    }

    private void terminateInstances(Tenant t) {
        Pick instance = pick(t, x -> x.instances, "i");
        if (call(t, "TerminateInstances " + instance.id(), instance.foreign(),
                () -> t.world.ec2.terminateInstances(b -> b.instanceIds(instance.id()))) != null) {
            t.terminated.add(instance.id());
        }
    }

    // ---- functions

    /** A VpcConfig: mostly subnets and groups of one VPC of the caller's; sometimes a mix, other accounts' ids or none. */
    private record Placement(VpcConfig config, boolean bad, String text) {
    }

    private Placement placement(Tenant t) {
        int roll = random.nextInt(100);
        if (roll < 5) {
            return new Placement(null, false, "no VPC");
        }
        if (roll < 10) {
            return new Placement(VpcConfig.builder().subnetIds(List.of()).securityGroupIds(List.of()).build(), false, "detached");
        }
        List<Pick> subnets = new ArrayList<>();
        List<Pick> groups = new ArrayList<>();
        List<String> vpcsWithSubnets = t.subnets.values().stream().distinct().toList();
        if (roll < 85 && !vpcsWithSubnets.isEmpty()) {
            String vpc = oneOf(vpcsWithSubnets);
            for (int i = 1 + random.nextInt(2); i > 0; i--) {
                subnets.add(sameVpc(t, x -> x.subnets, vpc, "subnet"));
                groups.add(sameVpc(t, x -> x.groups, vpc, "sg"));
            }
        } else {
            subnets.add(pick(t, x -> x.subnets, "subnet"));
            groups.add(pick(t, x -> x.groups, "sg"));
        }
        Set<String> vpcs = new HashSet<>();
        subnets.forEach(s -> vpcs.add(String.valueOf(t.subnets.get(s.id()))));
        groups.forEach(g -> vpcs.add(String.valueOf(t.groups.get(g.id()))));
        boolean bad = vpcs.size() > 1 || subnets.stream().anyMatch(Pick::foreign) || groups.stream().anyMatch(Pick::foreign);
        List<String> subnetIds = subnets.stream().map(Pick::id).toList();
        List<String> groupIds = groups.stream().map(Pick::id).toList();
        return new Placement(VpcConfig.builder().subnetIds(subnetIds).securityGroupIds(groupIds).build(), bad, subnetIds + " " + groupIds);
    }

    /** Mostly a function the tenant has ({@code existing}) or has not; sometimes a name that cannot be one. */
    private String functionName(Tenant t, boolean existing) {
        if (chance(8)) {
            return oneOf(BAD_FUNCTION_NAMES);
        }
        List<String> free = FUNCTION_NAMES.stream().filter(n -> !t.functions.contains(n)).toList();
        List<String> preferred = existing ? List.copyOf(t.functions) : free;
        return !preferred.isEmpty() && chance(85) ? oneOf(preferred) : oneOf(FUNCTION_NAMES);
    }

    private void createFunction(Tenant t) {
        String name = functionName(t, false);
        int roll = random.nextInt(100);
        String role = roll < 85 ? t.role : roll < 92 ? t.roleWithoutEniActions : roll < 96 ? other(t).role
                : "arn:aws:iam::" + t.credential.accountId() + ":role/no-such-role";
        Placement placement = placement(t);
        boolean publish = chance(20);
        boolean bad = placement.bad() || roll >= 92 || BAD_FUNCTION_NAMES.contains(name) || t.functions.contains(name);
        var created = call(t, "CreateFunction " + name + " " + placement.text() + (roll < 85 ? "" : " role " + role) + (publish ? " publish" : ""),
                bad, () -> t.world.create(name, role, null, null, b -> b.vpcConfig(placement.config()).publish(publish)));
        if (created != null) {
            t.functions.add(name);
        }
    }

    private void updateFunction(Tenant t) {
        String name = functionName(t, true);
        boolean memoryOnly = chance(20);
        Placement placement = memoryOnly ? new Placement(null, false, "memory") : placement(t);
        boolean bad = placement.bad() || !t.functions.contains(name);
        call(t, "UpdateFunctionConfiguration " + name + " " + placement.text(), bad, () -> t.world.lambda.updateFunctionConfiguration(b -> {
            b.functionName(name);
            if (memoryOnly) {
                b.memorySize(128 + 64 * random.nextInt(4));
            } else {
                b.vpcConfig(placement.config());
            }
        }));
    }

    private void deleteFunction(Tenant t) {
        String name = functionName(t, true);
        if (call(t, "DeleteFunction " + name, !t.functions.contains(name), () -> t.world.lambda.deleteFunction(b -> b.functionName(name))) != null) {
            t.functions.remove(name);
        }
    }

    // ---- tags and Describe filters (a caller's pattern against long values)

    private void createTags(Tenant t) {
        Function<Tenant, Map<String, String>> kind = oneOf(List.of(x -> x.vpcs, x -> x.subnets, x -> x.groups));
        Pick resource = pick(t, kind, "vpc");
        String value = oneOf(List.of("a".repeat(256), "web", "", "a\u00e9\u4e2d"));
        call(t, "CreateTags " + resource.id() + " k=" + value, resource.foreign(),
                () -> t.world.ec2.createTags(b -> b.resources(resource.id()).tags(tag -> tag.key("k").value(value))));
    }

    private void describe(Tenant t) {
        String[] filter = oneOf(List.of(new String[] {"tag:k", "*a*a*a*a*a*a*a*a*a*a*a*a*b"}, new String[] {"tag:k", "*a*"},
                new String[] {"tag-key", "*"}, new String[] {"vpc-id", "vpc-*"}, new String[] {"no-such-filter", "x"}));
        boolean bad = filter[0].equals("no-such-filter");
        Filter f = Filter.builder().name(filter[0]).values(filter[1]).build();
        var ec2 = t.world.ec2;
        switch (random.nextInt(5)) {
            case 0 -> call(t, "DescribeVpcs " + filter[0] + "=" + filter[1], bad, () -> ec2.describeVpcs(b -> b.filters(f)));
            case 1 -> call(t, "DescribeSubnets " + filter[0] + "=" + filter[1], bad, () -> ec2.describeSubnets(b -> b.filters(f)));
            case 2 -> call(t, "DescribeSecurityGroups " + filter[0] + "=" + filter[1], bad, () -> ec2.describeSecurityGroups(b -> b.filters(f)));
            case 3 -> call(t, "DescribeRouteTables " + filter[0] + "=" + filter[1], bad, () -> ec2.describeRouteTables(b -> b.filters(f)));
            default -> call(t, "DescribeInstances " + filter[0] + "=" + filter[1], bad, () -> ec2.describeInstances(b -> b.filters(f)));
        }
    }

    private void deleteNetworkInterface(Tenant t) {
        List<NetworkInterface> enis = call(t, "DescribeNetworkInterfaces", false, () -> t.world.ec2.describeNetworkInterfaces().networkInterfaces());
        List<NetworkInterface> foreign = other(t).world.ec2.describeNetworkInterfaces().networkInterfaces();
        boolean own = enis != null && !enis.isEmpty() && chance(70);
        String eni = own ? oneOf(enis).networkInterfaceId() : !foreign.isEmpty() && chance(50) ? oneOf(foreign).networkInterfaceId() : garbage("eni");
        call(t, "DeleteNetworkInterface " + eni, !own, () -> t.world.ec2.deleteNetworkInterface(b -> b.networkInterfaceId(eni)));
    }

    // ---- the way out

    private void attachGateway(Tenant t) {
        List<String> detached = t.gateways.entrySet().stream().filter(e -> e.getValue().isEmpty()).map(Map.Entry::getKey).toList();
        String igw;
        boolean foreignGateway = false;
        if (detached.isEmpty() || chance(30)) {
            var created = call(t, "CreateInternetGateway", false, () -> t.world.ec2.createInternetGateway(b -> { }));
            if (created == null) {
                return;
            }
            igw = created.internetGateway().internetGatewayId();
            t.gateways.put(igw, "");
        } else if (chance(10)) {
            Pick p = pick(t, x -> x.gateways, "igw");
            igw = p.id();
            foreignGateway = p.foreign();
        } else {
            igw = oneOf(detached);
        }
        Pick vpc = pick(t, x -> x.vpcs, "vpc");
        boolean bad = foreignGateway || vpc.foreign();
        if (call(t, "AttachInternetGateway " + igw + " " + vpc.id(), bad,
                () -> t.world.ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc.id()))) != null) {
            t.gateways.put(igw, vpc.id());
        }
    }

    private void detachGateway(Tenant t) {
        Pick igw = pick(t, x -> x.gateways, "igw");
        String vpc = t.gateways.getOrDefault(igw.id(), "");
        if (!vpc.isEmpty() && call(t, "DetachInternetGateway " + igw.id() + " " + vpc, igw.foreign(),
                () -> t.world.ec2.detachInternetGateway(b -> b.internetGatewayId(igw.id()).vpcId(vpc))) != null) {
            t.gateways.put(igw.id(), "");
        }
        if (chance(60) && call(t, "DeleteInternetGateway " + igw.id(), igw.foreign(),
                () -> t.world.ec2.deleteInternetGateway(b -> b.internetGatewayId(igw.id()))) != null) {
            assertThat(t.gateways.get(igw.id())).as("DeleteInternetGateway %s succeeded while attached", igw.id()).isEmpty();
            t.gateways.remove(igw.id());
            t.deleted.add(igw.id());
        }
    }

    private void allocateAddress(Tenant t) {
        var allocated = call(t, "AllocateAddress", false, () -> t.world.ec2.allocateAddress(b -> b.domain("vpc")));
        if (allocated != null) {
            assertThat(Ipv4Cidr.parse("198.51.100.0/24").contains(Ipv4Address.parse(allocated.publicIp()))).as(allocated.publicIp()).isTrue();
            t.addresses.put(allocated.allocationId(), "");
        }
        if (!t.addresses.isEmpty() && !t.instances.isEmpty() && chance(50)) {
            Pick allocation = pick(t, x -> x.addresses, "eipalloc");
            Pick instance = pick(t, x -> x.instances, "i");
            boolean reassociate = chance(50);
            var associated = call(t, "AssociateAddress " + allocation.id() + " " + instance.id(), allocation.foreign() || instance.foreign(),
                    () -> t.world.ec2.associateAddress(b -> b.allocationId(allocation.id()).instanceId(instance.id()).allowReassociation(reassociate)));
            if (associated != null && chance(50)) {
                call(t, "DisassociateAddress " + associated.associationId(), false,
                        () -> t.world.ec2.disassociateAddress(b -> b.associationId(associated.associationId())));
            }
        }
        if (!t.subnets.isEmpty() && chance(20)) {
            Pick subnet = pick(t, x -> x.subnets, "subnet");
            call(t, "ModifySubnetAttribute " + subnet.id() + " MapPublicIpOnLaunch", subnet.foreign(),
                    () -> t.world.ec2.modifySubnetAttribute(b -> b.subnetId(subnet.id()).mapPublicIpOnLaunch(v -> v.value(true))));
        }
        if (!t.addresses.isEmpty() && chance(30)) {
            Pick allocation = pick(t, x -> x.addresses, "eipalloc");
            if (call(t, "ReleaseAddress " + allocation.id(), allocation.foreign(),
                    () -> t.world.ec2.releaseAddress(b -> b.allocationId(allocation.id()))) != null) {
                t.addresses.remove(allocation.id());
                t.deleted.add(allocation.id());
            }
        }
    }

    private void createNatGateway(Tenant t) {
        Pick subnet = pick(t, x -> x.subnets, "subnet");
        boolean isPrivate = chance(30);
        // Another account's or a missing Elastic IP is no refusal: the gateway fails (InvalidAllocationID.NotFound).
        String allocation = isPrivate ? null : pick(t, x -> x.addresses, "eipalloc").id();
        var created = call(t, "CreateNatGateway " + subnet.id() + " " + (isPrivate ? "private" : allocation), subnet.foreign(),
                () -> t.world.ec2.createNatGateway(b -> {
                    b.subnetId(subnet.id());
                    if (isPrivate) {
                        b.connectivityType("private");
                    } else {
                        b.allocationId(allocation);
                    }
                }));
        if (created != null) {
            t.natGateways.put(created.natGateway().natGatewayId(), subnet.id());
        }
    }

    private void deleteNatGateway(Tenant t) {
        Pick nat = pick(t, x -> x.natGateways, "nat");
        if (call(t, "DeleteNatGateway " + nat.id(), nat.foreign() && !t.deleted.contains(nat.id()),
                () -> t.world.ec2.deleteNatGateway(b -> b.natGatewayId(nat.id()))) != null) {
            t.natGateways.remove(nat.id());
            t.deleted.add(nat.id());
        }
    }

    // ---- values the SDK's types cannot carry

    private void malformed(Tenant t) {
        String group = pick(t, x -> x.groups, "sg").id();
        String acl = pick(t, x -> x.acls, "acl").id();
        String subnet = pick(t, x -> x.subnets, "subnet").id();
        String vpc = pick(t, x -> x.vpcs, "vpc").id();
        String table = pick(t, x -> x.tables, "rtb").id();
        switch (random.nextInt(14)) {
            case 0 -> raw(t, "AuthorizeSecurityGroupIngress FromPort=eighty", Map.of("Action", "AuthorizeSecurityGroupIngress", "GroupId", group,
                    "IpPermissions.1.IpProtocol", "tcp", "IpPermissions.1.FromPort", "eighty", "IpPermissions.1.ToPort", "80",
                    "IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"));
            case 1 -> raw(t, "CreateNetworkAclEntry PortRange.From=x", Map.of("Action", "CreateNetworkAclEntry", "NetworkAclId", acl,
                    "RuleNumber", "120", "Protocol", "6", "RuleAction", "allow", "Egress", "true", "CidrBlock", "0.0.0.0/0",
                    "PortRange.From", "x", "PortRange.To", "80"));
            case 2 -> raw(t, "CreateNetworkAclEntry Icmp.Type=ping", Map.of("Action", "CreateNetworkAclEntry", "NetworkAclId", acl,
                    "RuleNumber", "130", "Protocol", "1", "RuleAction", "allow", "Egress", "false", "CidrBlock", "0.0.0.0/0",
                    "Icmp.Type", "ping", "Icmp.Code", "0"));
            case 3 -> raw(t, "RunInstances MinCount=one", Map.of("Action", "RunInstances", "ImageId", "ami-0123456789abcdef0",
                    "SubnetId", subnet, "MinCount", "one", "MaxCount", "1"));
            case 4 -> raw(t, "CreateVpc without CidrBlock", Map.of("Action", "CreateVpc"));
            case 5 -> raw(t, "DeleteNetworkAclEntry RuleNumber=x", Map.of("Action", "DeleteNetworkAclEntry", "NetworkAclId", acl,
                    "RuleNumber", "x", "Egress", "true"));
            case 6 -> raw(t, "CreateSubnet AvailabilityZone=mars-1a", Map.of("Action", "CreateSubnet", "VpcId", vpc,
                    "CidrBlock", "10.0.9.0/24", "AvailabilityZone", "mars-1a"));
            case 7 -> raw(t, "NoSuchAction", Map.of("Action", "NoSuchAction"));
            case 8 -> raw(t, "CreateTags Value of 300 characters", Map.of("Action", "CreateTags", "ResourceId.1", vpc,
                    "Tag.1.Key", "k", "Tag.1.Value", "v".repeat(300)));
            case 9 -> raw(t, "CreateSecurityGroup GroupDescription of 300 characters", Map.of("Action", "CreateSecurityGroup",
                    "GroupName", "long-description", "GroupDescription", "d".repeat(300), "VpcId", vpc));
            case 10 -> raw(t, "RunInstances UserData=!!!", Map.of("Action", "RunInstances", "ImageId", "ami-0123456789abcdef0",
                    "SubnetId", subnet, "UserData", "!!!not base64!!!"));
            case 11 -> raw(t, "AuthorizeSecurityGroupEgress Groups without GroupId", Map.of("Action", "AuthorizeSecurityGroupEgress",
                    "GroupId", group, "IpPermissions.1.IpProtocol", "tcp", "IpPermissions.1.FromPort", "1", "IpPermissions.1.ToPort", "2",
                    "IpPermissions.1.Groups.1.UserId", t.credential.accountId()));
            case 12 -> raw(t, "CreateVpc TagSpecification for a subnet", Map.of("Action", "CreateVpc", "CidrBlock", "10.0.0.0/16",
                    "TagSpecification.1.ResourceType", "subnet", "TagSpecification.1.Tag.1.Key", "k", "TagSpecification.1.Tag.1.Value", "v"));
            default -> raw(t, "CreateRoute DestinationCidrBlock=10.0.0.0/33", Map.of("Action", "CreateRoute", "RouteTableId", table,
                    "DestinationCidrBlock", "10.0.0.0/33", "GatewayId", "igw-0123456789abcdef0"));
        }
    }
}
