package io.hyperplane.control.fleet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fleet.EnvironmentRegistered;
import io.hyperplane.config.fleet.EnvironmentRegistration;
import io.hyperplane.config.fleet.FleetError;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.LegacyEniCreated;
import io.hyperplane.config.fleet.LegacyEniRequest;
import io.hyperplane.config.fleet.NodeHeartbeat;
import io.hyperplane.config.fleet.NodeHeartbeatAnswer;
import io.hyperplane.config.fleet.WorkerHeartbeat;
import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;
import io.hyperplane.control.fabric.FabricSync;
import io.hyperplane.control.lambda.LambdaApi;
import io.hyperplane.control.lambda.LambdaError;
import io.hyperplane.control.lambda.LegacyEnis;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.nodes.ServiceEgress;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Sql;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * The endpoints the fleet uses, authenticated by a bearer token kept in the data directory (not by
 * tenants' keys: nodes and workers are the operator's). Bodies are config.fleet's records, read
 * and written by FleetJson; a body that is not the record asked for is answered 400, saying why.
 * <pre>
 *   GET    /hyperplane/v1/nodes             the fleet: each node, live or not, and its share of the flows (the operator's view, {@link #fleetJson})
 *   GET    /hyperplane/v1/nodes/NAME/config?after=V&amp;waitSeconds=S   long-poll: 200 + snapshot JSON when the version is not V, else 304
 *   PUT    /hyperplane/v1/nodes/NAME        NodeHeartbeat -> NodeHeartbeatAnswer
 *   DELETE /hyperplane/v1/nodes/NAME        a node leaving cleanly
 *   POST   /hyperplane/v1/execution-environments[?waitForNodes=true]   EnvironmentRegistration -> 201 EnvironmentRegistered
 *          (no eniId: a network slot prepared ahead; posting again with one binds it)
 *   DELETE /hyperplane/v1/execution-environments/ID
 *   PUT    /hyperplane/v1/workers/NAME      WorkerHeartbeat -> WorkerHeartbeatAnswer
 *   DELETE /hyperplane/v1/workers/NAME      a worker leaving cleanly
 *   GET    /hyperplane/v1/code/ACCOUNT/FUNCTION/VERSION      the version's zip
 *   POST   /hyperplane/v1/legacy-enis       LegacyEniRequest -> 201 LegacyEniCreated: legacy model, one ENI per environment, rate-limited like EC2
 *   DELETE /hyperplane/v1/legacy-enis/ID
 *   any refusal: FleetError, with its status
 * </pre>
 */
public final class NodeEndpoints {
    /** What the ENI view (a tenant's, not the fleet's) is written with. */
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_.-]{1,64}");
    private static final int MAX_WAIT_SECONDS = 60;
    private static final Duration NODES_TIMEOUT = Duration.ofSeconds(10);
    /** What a node is told to heartbeat at (it keeps its own setting; NodeSettings' default is the same). */
    private static final long HEARTBEAT_INTERVAL_MS = 1000;
    /** Flow shares are given to four decimals (a hundredth of a percent): finer says nothing about counts a second old. */
    private static final int SHARE_DIGITS = 10_000;

    private final Database db;
    private final NodeConfigPublisher publisher;
    private final NodeRegistry registry;
    private final FleetPlanner planner;
    private final WorkerRegistry workers;
    private final LambdaApi lambda;
    private final LegacyEnis legacyEnis;
    private final FabricSync fabric;
    private final String token;
    private final byte[] tokenBytes;
    private final Runnable changed;

    public NodeEndpoints(Database db, NodeConfigPublisher publisher, NodeRegistry registry, FleetPlanner planner, WorkerRegistry workers,
                         LambdaApi lambda, LegacyEnis legacyEnis, FabricSync fabric, String token, Runnable changed) {
        this.planner = planner;
        this.fabric = fabric;
        this.db = db;
        this.publisher = publisher;
        this.registry = registry;
        this.workers = workers;
        this.lambda = lambda;
        this.legacyEnis = legacyEnis;
        this.token = token;
        this.tokenBytes = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.changed = changed;
    }

    /** Reads the token, or makes one (readable by root only) on first start. */
    public static String ensureToken(Path file) throws IOException {
        if (Files.exists(file)) {
            String token = Files.readString(file).trim();
            if (token.isEmpty()) {
                throw new IOException(file + ": empty node token; delete the file to have a new one made");
            }
            return token;
        }
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        String token = HexFormat.of().formatHex(random);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, token + "\n", StandardOpenOption.TRUNCATE_EXISTING);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        return token;
    }

    public String token() {
        return token;
    }

    public void addRoutes(RoutesConfig routes) {
        routes.get("/hyperplane/v1/nodes", ctx -> authorized(ctx, c -> c.contentType("application/json").result(fleetJson())));
        routes.get("/hyperplane/v1/nodes/{name}/config", ctx -> authorized(ctx, this::config));
        routes.put("/hyperplane/v1/nodes/{name}", ctx -> authorized(ctx, this::heartbeat));
        routes.delete("/hyperplane/v1/nodes/{name}", ctx -> authorized(ctx, this::leave));
        routes.post("/hyperplane/v1/execution-environments", ctx -> authorized(ctx, this::addEnvironment));
        routes.delete("/hyperplane/v1/execution-environments/{id}", ctx -> authorized(ctx, this::removeEnvironment));
        routes.put("/hyperplane/v1/workers/{name}", ctx -> authorized(ctx, this::workerHeartbeat));
        routes.delete("/hyperplane/v1/workers/{name}", ctx -> authorized(ctx, c -> {
            workers.remove(name(c));
            c.status(204);
        }));
        routes.get("/hyperplane/v1/code/{account}/{function}/{version}", ctx -> authorized(ctx, this::code));
        routes.post("/hyperplane/v1/legacy-enis", ctx -> authorized(ctx, this::createLegacyEni));
        routes.delete("/hyperplane/v1/legacy-enis/{id}", ctx -> authorized(ctx, c -> {
            legacyEnis.delete(c.pathParam("id"));
            publisher.refresh().join();
            changed.run();
            c.status(204);
        }));
    }

    private void workerHeartbeat(Context ctx) {
        String name = name(ctx);
        WorkerHeartbeat beat = FleetJson.decode(ctx.bodyAsBytes(), WorkerHeartbeat.class);
        workers.heartbeat(name, beat.url(), beat.underlayIp(), beat.networkModel(), beat.environments());
        reply(ctx, 200, new WorkerHeartbeatAnswer(registry.live().stream()
                .map(n -> new WorkerHeartbeatAnswer.LiveNode(n.name(), n.underlayIp(), n.port())).toList(), planner.plan()));
    }

    private void code(Context ctx) {
        byte[] zip = lambda.code(ctx.pathParam("account"), ctx.pathParam("function"), ctx.pathParam("version"));
        if (zip == null) {
            reply(ctx, 404, FleetError.of("no such function version"));
            return;
        }
        ctx.contentType("application/zip").result(zip);
    }

    private void createLegacyEni(Context ctx) throws Exception {
        LegacyEniRequest request = FleetJson.decode(ctx.bodyAsBytes(), LegacyEniRequest.class);
        try {
            LegacyEnis.Created eni = legacyEnis.create(request.accountId(), request.functionName(), request.subnetId(), request.securityGroupIds());
            publisher.refresh().join(); // a new ENI: the nodes' whole snapshot changes, not only environments
            // Instances admitting the function's group must admit this address before its first packet.
            fabric.changedAndWait(Duration.ofSeconds(10));
            reply(ctx, 201, new LegacyEniCreated(eni.eniId(), eni.ip(), eni.throttled(), eni.createMillis()));
        } catch (LambdaError e) {
            reply(ctx, e.status(), new FleetError(e.type(), e.getMessage()));
        }
    }

    /** A fleet message as the answer, written by the fleet's one binding. */
    private static void reply(Context ctx, int status, Object message) {
        ctx.status(status).contentType("application/json").result(FleetJson.encode(message));
    }

    private interface Handler {
        void handle(Context ctx) throws Exception;
    }

    /** Whether an Authorization header carries the fleet's bearer token (compared in constant time). */
    boolean authorizes(String header) {
        return header != null && MessageDigest.isEqual(header.getBytes(StandardCharsets.UTF_8), tokenBytes);
    }

    private void authorized(Context ctx, Handler handler) throws Exception {
        if (!authorizes(ctx.header("Authorization"))) {
            reply(ctx, 401, FleetError.of("missing or wrong bearer token (see the server's data directory: node-token)"));
            return;
        }
        try {
            handler.handle(ctx);
        } catch (IllegalArgumentException e) {
            reply(ctx, 400, FleetError.of(e.getMessage()));
        }
    }

    private static String name(Context ctx) {
        String name = ctx.pathParam("name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("node name '" + name + "': use 1-64 letters, digits, '.', '_' or '-'");
        }
        return name;
    }

    private void config(Context ctx) {
        String name = name(ctx);
        long after = parseLong(ctx.queryParam("after"), -1, "after");
        registry.polled(name, after);
        long wait = Math.min(MAX_WAIT_SECONDS, parseLong(ctx.queryParam("waitSeconds"), 20, "waitSeconds"));
        ctx.future(() -> publisher.next(after, Duration.ofSeconds(Math.max(0, wait))).thenAccept(published -> {
            if (published == null) {
                ctx.status(304);
                return;
            }
            ctx.header("X-Hyperplane-Config-Version", Long.toString(published.version())).contentType("application/json").result(published.json());
        }));
    }

    private void heartbeat(Context ctx) {
        String name = name(ctx);
        NodeHeartbeat beat = FleetJson.decode(ctx.bodyAsBytes(), NodeHeartbeat.class);
        registry.heartbeat(name, beat);
        reply(ctx, 200, new NodeHeartbeatAnswer(HEARTBEAT_INTERVAL_MS, publisher.current().version(), planner.plan()));
    }

    private void leave(Context ctx) {
        registry.remove(name(ctx));
        ctx.status(204);
    }

    /**
     * Registers an execution environment (without an ENI, a network slot prepared ahead), or binds
     * or rebinds one: committed, then published to nodes as an environments-only change. Throws
     * IllegalArgumentException for an ENI that does not exist, having changed nothing.
     */
    EnvironmentRegistered registerEnvironment(EnvironmentRegistration registration) {
        String id = registration.id();
        String host = registration.hostIp();
        String ip = registration.ip();
        String mac = registration.mac();
        String eni = registration.eniId(); // null: a slot prepared ahead, bound later
        // A function without a VpcConfig: bound to the service's egress, an ENI of the service's and no row of the store's.
        boolean egress = ServiceEgress.isEgress(eni);
        String storedEni = egress ? null : eni;
        long vni = db.inTransaction(c -> {
            if (storedEni != null && Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE id = ?", storedEni) == 0) {
                throw new IllegalArgumentException("execution environment " + id + ": no such ENI '" + eni + "'");
            }
            List<String> existing = Sql.strings(c, "SELECT vni FROM execution_environments WHERE id = ?", id);
            if (!existing.isEmpty()) {
                Sql.update(c, "UPDATE execution_environments SET host_ip = ?, ip = ?, mac = ?, eni_id = ?, service_egress = ? WHERE id = ?",
                        host, ip, mac, storedEni, egress, id);
                return Long.parseLong(existing.getFirst());
            }
            long allocated = IdPool.EE_VNI.take(c);
            Sql.update(c, "INSERT INTO execution_environments (id, vni, host_ip, ip, mac, eni_id, service_egress, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", id, allocated, host, ip, mac, storedEni, egress, Timestamp.from(Instant.now()));
            return allocated;
        });
        // The reconciler learns of environments in its next round (they only keep ENIs from deletion).
        NodeConfigPublisher.Published published = publisher.environmentsChanged(
                List.of(new NodeSnapshot.ExecutionEnvironment(id, (int) vni, host, ip, mac, eni)), List.of()).join();
        return new EnvironmentRegistered(id, vni, published.version());
    }

    /**
     * Completes once every live node runs {@code version}; on timeout, with a message naming the
     * nodes behind.
     */
    CompletableFuture<String> whenNodesApplied(String id, long version) {
        return registry.whenApplied(version, NODES_TIMEOUT).handle((ok, failure) -> failure == null ? null
                : "execution environment " + id + ": nodes did not apply config version " + version + " within "
                + NODES_TIMEOUT.toSeconds() + " s: " + registry.behind(version));
    }

    private void addEnvironment(Context ctx) {
        EnvironmentRegistered registered = registerEnvironment(FleetJson.decode(ctx.bodyAsBytes(), EnvironmentRegistration.class));
        if (!"true".equals(ctx.queryParam("waitForNodes"))) {
            reply(ctx, 201, registered);
            return;
        }
        // Answered once every live node runs the version with this environment: its first packet
        // will find it programmed.
        ctx.future(() -> whenNodesApplied(registered.id(), registered.configVersion()).thenAccept(failure -> {
            if (failure != null) {
                reply(ctx, 504, FleetError.of(failure));
            } else {
                reply(ctx, 201, registered);
            }
        }));
    }

    private void removeEnvironment(Context ctx) {
        String id = ctx.pathParam("id");
        int removed = db.inTransaction(c -> {
            List<String> vni = Sql.strings(c, "SELECT vni FROM execution_environments WHERE id = ?", id);
            if (vni.isEmpty()) {
                return 0;
            }
            Sql.update(c, "DELETE FROM execution_environments WHERE id = ?", id);
            IdPool.EE_VNI.release(c, Long.parseLong(vni.getFirst()));
            return 1;
        });
        if (removed == 0) {
            reply(ctx, 404, FleetError.of("no execution environment '" + id + "'"));
            return;
        }
        publisher.environmentsChanged(List.of(), List.of(id)).join();
        ctx.status(204);
    }

    /** The account's ENIs with their key, address, state, users, and load as reported by live nodes. */
    public String enisJson(String account) {
        Map<String, NodeRegistry.EniLoad> load = registry.loadByEni();
        ObjectNode out = NODES.objectNode();
        ArrayNode list = out.putArray("NetworkInterfaces");
        db.inTransaction(c -> {
            try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, subnet_id, group_key, private_ip, status, unused_since, created_at"
                    + " FROM network_interfaces WHERE account_id = ? ORDER BY created_at, id", account); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    ObjectNode eni = list.addObject();
                    eni.put("NetworkInterfaceId", r.getString(1)).put("VpcId", r.getString(2)).put("SubnetId", r.getString(3));
                    ArrayNode groups = eni.putArray("SecurityGroupIds");
                    for (String g : Sql.strings(c, "SELECT group_id FROM network_interface_groups WHERE eni_id = ? ORDER BY group_id", r.getString(1))) {
                        groups.add(g);
                    }
                    eni.put("PrivateIpAddress", r.getString(5)).put("State", r.getTimestamp(7) != null ? "unused" : r.getString(6));
                    String rejection = publisher.rejection(r.getString(1));
                    if (rejection != null) { // left out of what nodes are sent: why (DESIGN.md §9)
                        eni.put("NotProgrammed", rejection);
                    }
                    if (r.getTimestamp(7) != null) {
                        eni.put("UnusedSince", r.getTimestamp(7).toInstant().toString());
                    }
                    ArrayNode functions = eni.putArray("Functions");
                    for (String f : Sql.strings(c, "SELECT function_name || ':' || version FROM function_enis WHERE eni_id = ? ORDER BY function_name, version",
                            r.getString(1))) {
                        functions.add(f);
                    }
                    eni.put("ExecutionEnvironments", Sql.count(c, "SELECT COUNT(*) FROM execution_environments WHERE eni_id = ?", r.getString(1)));
                    NodeRegistry.EniLoad l = load.getOrDefault(r.getString(1), NodeRegistry.EniLoad.NONE);
                    eni.put("Flows", l.flows()).put("NatPorts", l.natPorts());
                }
            }
            return null;
        });
        ArrayNode nodes = out.putArray("Nodes");
        for (NodeRegistry.NodeStatus n : registry.all()) {
            nodes.addObject().put("Name", n.name()).put("UnderlayIp", n.underlayIp()).put("AppliedVersion", n.appliedVersion())
                    .put("Live", registry.isLive(n)).put("LastSeen", n.lastSeen().toString()).put("ConfigStream", registry.streaming(n.name()));
        }
        out.put("ConfigVersion", publisher.current().version());
        try {
            return JSON.writeValueAsString(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Which nodes carry which share of the flows ({@code hyperplane nodes}): each node the control
     * plane has heard from, with its underlay address (and, where it says, its namespace and pid on its host), liveness, last heartbeat, the configuration
     * version it runs, its open flows and NAT ports, and its share of the live nodes' flows. The
     * fleet's, not a tenant's: answered to the fleet's bearer token only, as the figures sum every
     * tenant's flows. With each node, its place in the fleet's plan (FleetVersion): its index, whether it
     * is in service, its backup's index (0: none) and the NAT port blocks it owns.
     * <pre>
     *   {"ConfigVersion":42,"LiveNodes":2,"Flows":300,"NatPorts":310,
     *    "Nodes":[{"Name":"n1","UnderlayIp":"198.18.0.1","Port":4789,"Namespace":"hp-up-node","Pid":4242,"Live":true,"LastHeartbeat":"2026-…Z",
     *              "AppliedVersion":42,"ConfigStream":true,"Flows":200,"NatPorts":205,"FlowShare":0.6667,
     *              "Index":1,"InService":true,"Backup":2,"PortBlocks":["1024-5055","9088-13119",…]}, …]}
     * </pre>
     */
    public String fleetJson() {
        NodeRegistry.Fleet fleet = registry.fleet();
        FleetPlan plan = planner.plan();
        ObjectNode out = NODES.objectNode();
        out.put("ConfigVersion", publisher.current().version());
        out.put("FleetVersion", plan.version()).put("Anycast", plan.anycast());
        out.put("LiveNodes", fleet.nodes().stream().filter(NodeRegistry.NodeShare::live).count());
        out.put("Flows", fleet.flows()).put("NatPorts", fleet.natPorts());
        ArrayNode nodes = out.putArray("Nodes");
        for (NodeRegistry.NodeShare share : fleet.nodes()) {
            NodeRegistry.NodeStatus n = share.node();
            ObjectNode node = nodes.addObject().put("Name", n.name()).put("UnderlayIp", n.underlayIp()).put("Port", n.port());
            if (!n.netns().isEmpty()) {
                node.put("Namespace", n.netns());
            }
            if (n.pid() != NodeHeartbeat.NO_PID) {
                node.put("Pid", n.pid());
            }
            node.put("Live", share.live())
                    .put("LastHeartbeat", n.lastSeen().toString()).put("AppliedVersion", n.appliedVersion())
                    .put("ConfigStream", registry.streaming(n.name())).put("Flows", n.flows()).put("NatPorts", n.natPorts())
                    .put("FlowShare", Math.round(share.flowShare() * SHARE_DIGITS) / (double) SHARE_DIGITS);
            FleetPlan.Member member = plan.memberAt(n.underlayIp());
            if (member != null && member.name().equals(n.name())) {
                ObjectNode place = node.put("Index", member.index()).put("InService", member.inService()).put("Backup", member.backup());
                ArrayNode blocks = place.putArray("PortBlocks");
                for (int b = 0; b < FleetPlan.PORT_BLOCKS; b++) {
                    if (member.owns(b)) {
                        blocks.add(FleetPlan.firstPortOf(b) + "-" + (FleetPlan.firstPortOf(b) + FleetPlan.BLOCK_PORTS - 1));
                    }
                }
            }
        }
        try {
            return JSON.writeValueAsString(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long parseLong(String value, long otherwise, String name) {
        if (value == null || value.isEmpty()) {
            return otherwise;
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " '" + value + "' is not a number");
        }
    }
}
