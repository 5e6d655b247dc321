package io.hyperplane.control.server;

import io.hyperplane.config.fabric.Fabric;
import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.fabric.FabricSync;
import io.hyperplane.control.fabric.ForwarderNodes;
import io.hyperplane.control.iam.IamApi;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.Failure;
import io.hyperplane.sigv4.SigV4Verifier;
import io.hyperplane.sigv4.SignedRequest;
import io.hyperplane.sigv4.Verification;
import io.hyperplane.control.ec2.Ec2Api;
import io.hyperplane.control.ec2.Ec2Quotas;
import io.hyperplane.control.ec2.NatGatewayLifecycle;
import io.hyperplane.control.ec2.NatGatewayView;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.control.fleet.FleetStreams;
import io.hyperplane.control.fleet.NodeEndpoints;
import io.hyperplane.control.fleet.FleetPlanner;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.fleet.WorkerRegistry;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.lambda.FunctionReconciler;
import io.hyperplane.control.lambda.InvocationService;
import io.hyperplane.control.lambda.LegacyEnis;
import io.hyperplane.control.lambda.LambdaApi;
import io.hyperplane.control.lambda.LambdaError;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.store.StoreException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * {@code hyperplane server}: one HTTP endpoint serving the AWS APIs over the store, every request
 * authenticated with Signature Version 4 against the accounts' keys, and the endpoints forwarder
 * nodes and workers use (bearer token).
 * <pre>
 *   POST /  (form: Action=CreateVpc&amp;...)         --SigV4 ec2/iam--> Ec2Api / IamApi --> Database
 *   /2015-03-31/functions/...  (JSON)             --SigV4 lambda---> LambdaApi ------> Database
 *   /hyperplane/v1/nodes/NAME[/config]            --bearer-------->  NodeEndpoints (heartbeat, long-poll)
 *   WS /hyperplane/v1/{nodes,workers}/NAME/stream --bearer-------->  FleetStreams (config stream, environment registration)
 *   FunctionReconciler: functions -> ENIs -> NodeConfigPublisher -> nodes; FabricSync: VPCs -> namespaces
 * </pre>
 * Request threads serve the fleet's endpoints; for a tenant's call they only read it and check its
 * signature, then hand it to {@link TenantRequests} (a few threads, fair between accounts, a bound
 * on each account's requests in flight) and are free again: no tenant's call, however slow, makes
 * a heartbeat wait.
 */
public final class ControlPlaneServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneServer.class);
    private static final String XML = "text/xml;charset=UTF-8";
    /** The server's own memory of its default account's key (the credentials file is what users read, written when ready). */
    static final String DEFAULT_ACCOUNT_FILE = "default-account";

    /** Where state lives and where to listen; {@code jdbcUrl} null means embedded H2 in {@code dataDir}. */
    public record Settings(Path dataDir, String host, int port, String jdbcUrl, String jdbcUser, String jdbcPassword,
                           FunctionReconciler.Settings functions, int accountConcurrency, Duration nodeLiveness,
                           InvocationService.Settings invocations, LegacyEnis.Settings legacyEnis, Ec2Quotas quotas,
                           TenantRequests.Limits tenantRequests) {
        public static final int DEFAULT_ACCOUNT_CONCURRENCY = 1000; // Lambda's default per region
        public static final Duration DEFAULT_NODE_LIVENESS = Duration.ofSeconds(3); // three missed 1 s heartbeats

        public Settings(Path dataDir, String host, int port, String jdbcUrl, String jdbcUser, String jdbcPassword) {
            this(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, FunctionReconciler.Settings.DEFAULTS, DEFAULT_ACCOUNT_CONCURRENCY,
                    DEFAULT_NODE_LIVENESS, InvocationService.Settings.DEFAULTS, LegacyEnis.Settings.DEFAULTS, Ec2Quotas.AWS_DEFAULTS,
                    TenantRequests.Limits.DEFAULTS);
        }

        public Settings {
            if (accountConcurrency < 1) {
                throw new IllegalArgumentException("account concurrency " + accountConcurrency + ": must be at least 1");
            }
            if (dataDir == null) {
                throw new IllegalArgumentException("data dir: required (--data-dir DIR)");
            }
            if (quotas == null) {
                throw new IllegalArgumentException("EC2 quotas: required (Ec2Quotas.AWS_DEFAULTS)");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + ": must be 0..65535");
            }
        }

        public static Settings local(Path dataDir, String hostPort) {
            int colon = hostPort.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("listen '" + hostPort + "': expected HOST:PORT");
            }
            int port;
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("listen '" + hostPort + "': port is not a number");
            }
            return new Settings(dataDir, hostPort.substring(0, colon), port, null, null, null);
        }

        public Settings withPort(int port) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }

        public Settings withDatabase(String url, String user, String password) {
            return new Settings(dataDir, host, port, url, user, password, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }

        public Settings withFunctions(FunctionReconciler.Settings functions) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }

        public Settings withLegacyEnis(LegacyEnis.Settings legacyEnis) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }

        public Settings withTenantRequests(TenantRequests.Limits limits) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, limits);
        }

        public Settings withQuotas(Ec2Quotas quotas) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }

        public Settings withInvocations(InvocationService.Settings invocations) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, accountConcurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }

        public Settings withAccountConcurrency(int concurrency) {
            return new Settings(dataDir, host, port, jdbcUrl, jdbcUser, jdbcPassword, functions, concurrency, nodeLiveness, invocations, legacyEnis, quotas, tenantRequests);
        }
    }

    private final Database db;
    private final Accounts accounts;
    private final Accounts.DefaultAccount defaultAccount;
    private final Path credentialsFile;
    private final Ec2Api ec2;
    private final IamApi iam;
    private final FabricSync fabricSync;
    private final ForwarderNodes forwarderNodes;
    private final NodeConfigPublisher nodeConfig;
    private final NodeRegistry nodes;
    private final FleetPlanner fleetPlanner;
    private final FunctionReconciler reconciler;
    private final NatGatewayLifecycle natGateways;
    private final NatGatewayView natGatewayView;
    private final LambdaApi lambda;
    private final NodeEndpoints nodeEndpoints;
    private final FleetStreams fleetStreams;
    private final WorkerRegistry workers;
    private final InvocationService invocations;
    private final LegacyEnis legacyEnis;
    private final SigV4Verifier verifier;
    private final TenantRequests tenantRequests;
    private final Javalin app;

    private ControlPlaneServer(Settings settings, Fabric fabric) throws IOException {
        // Every account's keys and every function's variables: root's alone, created so.
        Files.createDirectories(settings.dataDir(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        db = settings.jdbcUrl() == null ? Database.embedded(settings.dataDir())
                : Database.open(settings.jdbcUrl(), settings.jdbcUser(), settings.jdbcPassword());
        List<AutoCloseable> started = new ArrayList<>();
        try {
            accounts = new Accounts(db);
            credentialsFile = settings.dataDir().resolve("credentials");
            defaultAccount = accounts.ensureDefault(settings.dataDir().resolve(DEFAULT_ACCOUNT_FILE), credentialsFile);
            fabricSync = new FabricSync(db, fabric);
            started.add(fabricSync);
            fabricSync.syncNow(); // adopt or rebuild what the store says exists, before serving
            // A version's ENIs are members of the fabric's groups.
            nodeConfig = new NodeConfigPublisher(db, fabricSync::changed);
            started.add(nodeConfig);
            forwarderNodes = new ForwarderNodes(db, fabricSync::changed);
            nodes = new NodeRegistry(forwarderNodes, settings.nodeLiveness(), Clock.systemUTC());
            // The fleet's plan: published in heartbeats' answers and to the routers, whose tunnels it spreads.
            fleetPlanner = new FleetPlanner(nodes, forwarderNodes, Clock.systemUTC());
            fleetPlanner.whenChanged(fabricSync::changed);
            fabricSync.planBy(fleetPlanner::plan);
            iam = new IamApi(db);
            reconciler = new FunctionReconciler(db, iam, nodeConfig, nodes, settings.functions(), Clock.systemUTC());
            started.add(reconciler);
            // The reconciler waits for the nodes to run the ENIs it made, so what they are sent and how far they are
            // wake it; it is made with both, so it listens from here. Environments-only versions bring no ENI.
            nodeConfig.subscribe(version -> {
                if (version.delta() == null) {
                    reconciler.changed();
                }
            }, nodeConfig.current().version());
            nodes.whenProgressed(reconciler::nodesProgressed);
            // NAT gateways become available as the nodes take them, and deleted once they let go.
            natGateways = new NatGatewayLifecycle(db, nodeConfig, nodes, Clock.systemUTC(), () -> {
                fabricSync.changed();
                nodeConfig.changed();
            });
            started.add(natGateways);
            nodeConfig.subscribe(version -> natGateways.wake(), nodeConfig.current().version());
            nodes.whenProgressed(natGateways::wake);
            natGatewayView = new NatGatewayView(db, nodes);
            Runnable changed = () -> {
                fabricSync.changed();
                nodeConfig.changed();
                reconciler.changed();
                natGateways.wake();
            };
            ec2 = new Ec2Api(db, settings.quotas(), changed);
            // Lambda calls change what the reconciler works on; ENIs it creates or deletes reach the nodes and the
            // fabric through the publisher, so a CreateFunction or PublishVersion wakes neither directly.
            String token = NodeEndpoints.ensureToken(settings.dataDir().resolve("node-token"));
            workers = new WorkerRegistry(settings.nodeLiveness(), Clock.systemUTC());
            invocations = new InvocationService(db, workers, token, settings.accountConcurrency(), settings.invocations(), Clock.systemUTC());
            started.add(invocations);
            lambda = new LambdaApi(db, iam, Clock.systemUTC(), settings.accountConcurrency(), reconciler::changed, invocations);
            legacyEnis = new LegacyEnis(db, settings.legacyEnis(), settings.functions().eniQuotaPerVpc());
            // Environments and legacy ENIs change what nodes run and what ENIs are used, not the fabric.
            nodeEndpoints = new NodeEndpoints(db, nodeConfig, nodes, fleetPlanner, workers, lambda, legacyEnis, fabricSync, token,
                    reconciler::changed);
            fleetStreams = new FleetStreams(nodeEndpoints, nodeConfig, nodes);
            started.add(fleetStreams);
            verifier = new SigV4Verifier(accounts, Clock.systemUTC());
            tenantRequests = new TenantRequests(settings.tenantRequests());
            started.add(tenantRequests);
            app = Javalin.create(config -> {
                config.startup.showJavalinBanner = false;
                config.routes.post("/", this::query);
                config.routes.get("/", this::query);
                lambda.addRoutes(config.routes, this::lambda);
                config.routes.get("/hyperplane/v1/enis", ctx -> accountView(ctx, nodeEndpoints::enisJson));
                config.routes.get("/hyperplane/v1/events", ctx -> accountView(ctx, invocations::eventCountsJson));
                config.routes.get("/hyperplane/v1/nat-gateways", ctx -> accountView(ctx, natGatewayView::json));
                nodeEndpoints.addRoutes(config.routes);
                fleetStreams.addRoutes(config.routes);
                config.routes.get(Readiness.PATH, this::health);
            }).start(settings.host(), settings.port());
        } catch (RuntimeException | IOException e) {
            for (AutoCloseable c : started.reversed()) {
                closeQuietly(c);
            }
            db.close();
            throw e;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("closing {}: {}", c, e.getMessage());
        }
    }

    /** A server with no fabric: the API and store alone; its credentials file is written. */
    public static ControlPlaneServer start(Settings settings) throws IOException {
        return start(settings, Fabric.NONE);
    }

    /**
     * A server whose VPCs, subnets and instances become real networks through {@code fabric}; its
     * credentials file is written once it serves.
     */
    public static ControlPlaneServer start(Settings settings, Fabric fabric) throws IOException {
        ControlPlaneServer server = startUnannounced(settings, fabric);
        try {
            server.writeCredentialsFile();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /**
     * A server that does not write its credentials file yet: for a system that has more to start
     * (a node, workers) before an Invoke would succeed, and says so with {@link #writeCredentialsFile}.
     */
    public static ControlPlaneServer startUnannounced(Settings settings, Fabric fabric) throws IOException {
        return new ControlPlaneServer(settings, fabric);
    }

    /** Writes the default account's key to {@link #credentialsFile()} (AWS shared-credentials format, 0600). */
    public void writeCredentialsFile() throws IOException {
        Accounts.writeCredentialsFile(credentialsFile, defaultAccount.credential());
    }

    /** Converges the fabric now (otherwise it happens in the background within moments of a change). */
    public void syncFabric() {
        fabricSync.syncNow();
    }

    public URI endpoint() {
        return URI.create("http://" + hostForUri() + ":" + app.port());
    }

    private String hostForUri() {
        String host = app.jettyServer().server().getURI() == null ? "127.0.0.1" : app.jettyServer().server().getURI().getHost();
        return host == null || host.equals("0.0.0.0") ? "127.0.0.1" : host;
    }

    public int port() {
        return app.port();
    }

    public Credential defaultCredential() {
        return defaultAccount.credential();
    }

    /** True when this start made the default account (first start on this data directory). */
    public boolean createdDefaultAccount() {
        return defaultAccount.created();
    }

    public Path credentialsFile() {
        return credentialsFile;
    }

    public ForwarderNodes forwarderNodes() {
        return forwarderNodes;
    }

    public Accounts accounts() {
        return accounts;
    }

    public String databaseUrl() {
        return db.url();
    }

    public LambdaApi lambda() {
        return lambda;
    }

    public WorkerRegistry workers() {
        return workers;
    }

    public InvocationService invocations() {
        return invocations;
    }

    /** Where tenants' calls run; it counts the requests refused past an account's bound in flight. */
    public TenantRequests tenantRequests() {
        return tenantRequests;
    }

    public LegacyEnis legacyEnis() {
        return legacyEnis;
    }

    public FunctionReconciler reconciler() {
        return reconciler;
    }

    public NatGatewayLifecycle natGateways() {
        return natGateways;
    }

    /** The fleet's plan as published now: its members' indexes, which are in service, their backups. */
    public FleetPlan fleetPlan() {
        return fleetPlanner.plan();
    }

    public NodeRegistry nodes() {
        return nodes;
    }

    public NodeConfigPublisher nodeConfig() {
        return nodeConfig;
    }

    /** The token forwarder nodes and workers present (Authorization: Bearer), kept in DIR/node-token. */
    public String nodeToken() {
        return nodeEndpoints.token();
    }

    /** Whether an Invoke would succeed now: a live forwarder node and a live worker (this server answers, so it serves). */
    public Readiness readiness() {
        return Readiness.of(nodes.live(), workers.live());
    }

    /** {@code GET /health}: unauthenticated, for `up`, scripts and load balancers; 200 only when ready. */
    private void health(Context ctx) {
        Readiness readiness = readiness();
        ctx.status(readiness.status()).contentType("application/json").result(readiness.json());
    }

    private Verification verify(Context ctx, byte[] body) {
        return verifier.verify(new SignedRequest(ctx.method().name(), ctx.req().getRequestURI(), ctx.req().getQueryString(), headers(ctx), body));
    }

    /**
     * Lambda's REST API: JSON in and out, errors named in X-Amzn-ErrorType. The request thread
     * reads the request and checks its signature; the call runs on a tenant thread and is answered
     * from there (Invoke: once its worker answers), so the request thread is free again at once.
     */
    private void lambda(Context ctx, LambdaApi.Operation operation) {
        String requestId = UUID.randomUUID().toString();
        byte[] body = ctx.bodyAsBytes();
        ctx.header("x-amzn-RequestId", requestId);
        Verification verification = verify(ctx, body);
        if (verification instanceof Verification.Rejected rejected) {
            ErrorCode error = lambdaError(rejected.failure());
            answer(ctx, LambdaApi.error(new LambdaError(error.code(), error.status(), rejected.message())));
            return;
        }
        Verification.Authenticated authenticated = (Verification.Authenticated) verification;
        String account = authenticated.credential().accountId();
        Map<String, String> query = new LinkedHashMap<>();
        parse(ctx.req().getQueryString(), query);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : Collections.list(ctx.req().getHeaderNames())) {
            headers.put(name.toLowerCase(Locale.ROOT), ctx.req().getHeader(name));
        }
        String method = ctx.method().name();
        String path = ctx.req().getRequestURI();
        LambdaApi.Call call = new LambdaApi.Call(account, authenticated.region(), method, path, ctx.pathParamMap(), query, headers, body);
        ctx.future(() -> tenantRequests.submit(account, () -> operation.answer(call))
                .exceptionally(failure -> switch (cause(failure)) {
                    case TenantRequests.Throttled t -> LambdaApi.callerRateLimitExceeded();
                    case StoreException e -> {
                        LOG.error("request {} failed in the store", requestId, e);
                        yield LambdaApi.error(new LambdaError("ServiceException", 500, "An internal error has occurred"));
                    }
                    default -> throw new CompletionException(cause(failure));
                })
                .thenAccept(response -> answer(ctx, response)));
    }

    private static void answer(Context ctx, LambdaApi.Response response) {
        response.headers().forEach(ctx::header);
        ctx.status(response.status());
        if (response.body() != null) {
            ctx.contentType("application/json").result(response.body());
        }
    }

    private static Throwable cause(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    /**
     * A view of the caller's account for the CLI, signed as a Lambda call: {@code hyperplane enis}
     * (its Hyperplane ENIs, who uses them and their load on the nodes), {@code hyperplane events}
     * (its asynchronous invocations per function, as the store counts them) and
     * {@code hyperplane nat-gateways} (its NAT gateways with their metrics on the nodes).
     */
    private void accountView(Context ctx, Function<String, String> view) {
        Verification verification = verify(ctx, ctx.bodyAsBytes());
        if (verification instanceof Verification.Rejected rejected) {
            ErrorCode error = lambdaError(rejected.failure());
            answer(ctx, LambdaApi.error(new LambdaError(error.code(), error.status(), rejected.message())));
            return;
        }
        String account = ((Verification.Authenticated) verification).credential().accountId();
        ctx.future(() -> tenantRequests.submit(account, () -> CompletableFuture.completedFuture(new LambdaApi.Response(200, view.apply(account))))
                .exceptionally(failure -> {
                    if (cause(failure) instanceof TenantRequests.Throttled) {
                        return LambdaApi.callerRateLimitExceeded();
                    }
                    throw new CompletionException(cause(failure));
                })
                .thenAccept(response -> answer(ctx, response)));
    }

    /** Lambda's codes for authentication failures. */
    private static ErrorCode lambdaError(Failure failure) {
        return switch (failure) {
            case MISSING_AUTHENTICATION -> new ErrorCode("MissingAuthenticationTokenException", 403);
            case INCOMPLETE_SIGNATURE -> new ErrorCode("IncompleteSignatureException", 400);
            case UNKNOWN_ACCESS_KEY -> new ErrorCode("UnrecognizedClientException", 403);
            case SIGNATURE_MISMATCH, EXPIRED -> new ErrorCode("InvalidSignatureException", 403);
        };
    }

    /** EC2 and IAM (query protocol): as {@link #lambda}, the call runs and is answered on a tenant thread. */
    private void query(Context ctx) {
        String requestId = UUID.randomUUID().toString();
        byte[] body = ctx.bodyAsBytes();
        Verification verification = verify(ctx, body);
        ctx.header("x-amzn-RequestId", requestId).contentType(XML);
        if (verification instanceof Verification.Rejected rejected) {
            String authorization = ctx.header("Authorization");
            if (authorization != null && authorization.contains("/iam/aws4_request")) {
                ErrorCode error = iamError(rejected.failure());
                ctx.status(error.status()).result(IamApi.errorXml(error.code(), rejected.message(), requestId));
            } else {
                ErrorCode error = ec2Error(rejected.failure());
                ctx.status(error.status()).result(Ec2Api.errorXml(error.code(), rejected.message(), requestId));
            }
            return;
        }
        Verification.Authenticated authenticated = (Verification.Authenticated) verification;
        String account = authenticated.credential().accountId();
        Map<String, String> parameters = new LinkedHashMap<>();
        parse(ctx.req().getQueryString(), parameters);
        String contentType = ctx.contentType();
        if (contentType == null || contentType.startsWith("application/x-www-form-urlencoded")) {
            parse(new String(body, StandardCharsets.UTF_8), parameters);
        }
        // The service the caller signed for picks the API (SigV4 credential scope).
        String service = authenticated.service();
        ctx.future(() -> tenantRequests.submit(account, () -> CompletableFuture.completedFuture(switch (service) {
                    case "iam" -> {
                        IamApi.Response response = iam.handle(account, parameters, requestId);
                        yield new QueryAnswer(response.status(), response.xml());
                    }
                    case "ec2" -> {
                        Ec2Api.Response response = ec2.handle(account, parameters, requestId);
                        yield new QueryAnswer(response.status(), response.xml());
                    }
                    default -> new QueryAnswer(400, Ec2Api.errorXml("InvalidAction",
                            "This endpoint serves ec2 and iam; the request was signed for '" + service + "'", requestId));
                }))
                .exceptionally(failure -> switch (cause(failure)) {
                    // Each API's own throttling error (EC2 API reference, "Request throttling"; IAM, "Common Errors").
                    case TenantRequests.Throttled t -> service.equals("iam")
                            ? new QueryAnswer(400, IamApi.errorXml("Throttling", "Rate exceeded", requestId))
                            : new QueryAnswer(503, Ec2Api.errorXml("RequestLimitExceeded", "Request limit exceeded.", requestId));
                    case StoreException e -> {
                        LOG.error("request {} failed in the store", requestId, e);
                        yield new QueryAnswer(500, Ec2Api.errorXml("InternalError", "An internal error has occurred", requestId));
                    }
                    default -> throw new CompletionException(cause(failure));
                })
                .thenAccept(answer -> ctx.status(answer.status()).result(answer.xml())));
    }

    /** An EC2 or IAM answer: HTTP status and XML body. */
    private record QueryAnswer(int status, String xml) {
    }

    private record ErrorCode(String code, int status) {
    }

    /** EC2's codes for authentication failures (EC2 API reference, "Common client error codes"). */
    private static ErrorCode ec2Error(Failure failure) {
        return switch (failure) {
            case MISSING_AUTHENTICATION -> new ErrorCode("MissingAuthenticationToken", 401);
            case INCOMPLETE_SIGNATURE -> new ErrorCode("IncompleteSignature", 400);
            case UNKNOWN_ACCESS_KEY -> new ErrorCode("AuthFailure", 401);
            case SIGNATURE_MISMATCH -> new ErrorCode("SignatureDoesNotMatch", 403);
            case EXPIRED -> new ErrorCode("RequestExpired", 400);
        };
    }

    /** IAM's codes for authentication failures (IAM API reference, "Common Errors"). */
    private static ErrorCode iamError(Failure failure) {
        return switch (failure) {
            case MISSING_AUTHENTICATION -> new ErrorCode("MissingAuthenticationToken", 403);
            case INCOMPLETE_SIGNATURE -> new ErrorCode("IncompleteSignature", 400);
            case UNKNOWN_ACCESS_KEY -> new ErrorCode("InvalidClientTokenId", 403);
            case SIGNATURE_MISMATCH -> new ErrorCode("SignatureDoesNotMatch", 403);
            case EXPIRED -> new ErrorCode("RequestExpired", 400);
        };
    }

    public IamApi iam() {
        return iam;
    }

    private static Map<String, List<String>> headers(Context ctx) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : Collections.list(ctx.req().getHeaderNames())) {
            headers.put(name, new ArrayList<>(Collections.list(ctx.req().getHeaders(name))));
        }
        return headers;
    }

    private static void parse(String form, Map<String, String> into) {
        if (form == null || form.isEmpty()) {
            return;
        }
        for (String pair : form.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            into.put(name, value);
        }
    }

    @Override
    public void close() {
        invocations.close();
        nodeConfig.close(); // answers the nodes' pending long polls while the server still can
        app.stop();
        tenantRequests.close();
        fleetStreams.close();
        reconciler.close();
        natGateways.close();
        fabricSync.close();
        db.close();
    }
}
