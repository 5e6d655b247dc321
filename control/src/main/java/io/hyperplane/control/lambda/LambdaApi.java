package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.eni.VpcLookup;
import io.hyperplane.control.iam.IamApi;
import io.hyperplane.control.lambda.VersionStore.Version;
import io.hyperplane.control.store.Database;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The Lambda REST API (2015-03-31) for functions, one Javalin route per operation:
 * <pre>
 *   POST   /2015-03-31/functions                           CreateFunction
 *   GET    /2015-03-31/functions                           ListFunctions
 *   GET    /2015-03-31/functions/{function}                GetFunction
 *   DELETE /2015-03-31/functions/{function}                DeleteFunction
 *   GET    /2015-03-31/functions/{function}/configuration  GetFunctionConfiguration
 *   PUT    /2015-03-31/functions/{function}/configuration  UpdateFunctionConfiguration
 *   PUT    /2015-03-31/functions/{function}/code           UpdateFunctionCode
 *   POST   /2015-03-31/functions/{function}/versions       PublishVersion
 *   GET    /2015-03-31/functions/{function}/versions       ListVersionsByFunction
 *   POST   /2015-03-31/functions/{function}/invocations    Invoke
 *   PUT    /2017-10-31/functions/{function}/concurrency    PutFunctionConcurrency
 *   DELETE /2017-10-31/functions/{function}/concurrency    DeleteFunctionConcurrency
 *   GET    /2019-09-30/functions/{function}/concurrency    GetFunctionConcurrency
 *   /2019-09-25/functions/{function}/event-invoke-config  {@link EventInvokeConfigApi}'s five operations
 *   anything else under the four API versions             UnknownOperationException
 * </pre>
 * A route's request record checks the request ({@link CreateFunctionRequest} and the others), the
 * stores ({@link FunctionStore}, {@link VersionStore}) hold the SQL, {@link LambdaRenderer} writes
 * Lambda's JSON. Every call runs in one transaction, under the account's row lock when it writes.
 * A function with a VpcConfig is created Pending; the {@link FunctionReconciler} gives it its
 * Hyperplane ENIs and makes it Active or Failed.
 */
public final class LambdaApi {
    private static final int UNRESERVED_MINIMUM = 100; // Lambda keeps this much of the account's concurrency unreserved
    private static final List<String> API_VERSIONS = List.of("/2015-03-31", "/2017-10-31", "/2019-09-25", "/2019-09-30");
    private static final String FUNCTIONS = "/2015-03-31/functions";
    private static final String FUNCTION = FUNCTIONS + "/{function}";

    /**
     * What a function invocation is handed to once the function is Active (the runtime, issue 5).
     * The answer is a future: a synchronous invocation holds no thread while its function runs.
     * Failures are LambdaErrors, thrown or in the future.
     */
    public interface Invoker {
        CompletableFuture<Response> invoke(InvocationService.Target target, Map<String, String> headers, byte[] payload);

        /** The function (all versions) is gone: its execution environments should go too. */
        default void functionDeleted(String account, String name) {
        }
    }

    /** An HTTP response: status, JSON body (null for none) and extra headers. */
    public record Response(int status, String body, Map<String, String> headers) {
        public Response(int status, String body) {
            this(status, body, Map.of());
        }
    }

    /**
     * One authenticated call as the server read it on the request thread: the caller's account
     * and region, the request as received ({@code rawPath} percent-encoded), the route's path
     * parameters decoded, and the query and headers (names in lower case).
     */
    public record Call(String account, String region, String method, String rawPath, Map<String, String> pathParams,
                       Map<String, String> query, Map<String, String> headers, byte[] body) {
    }

    /** An operation: answers a call, at once or (Invoke) when its worker does. */
    @FunctionalInterface
    public interface Operation {
        CompletableFuture<Response> answer(Call call);
    }

    /**
     * What the server does for every route: checks the request's signature and runs the operation
     * on the caller's tenant thread, answering with what it gives.
     */
    @FunctionalInterface
    public interface Door {
        void serve(Context ctx, Operation operation);
    }

    private final Database db;
    private final IamApi iam;
    private final Clock clock;
    private final int accountConcurrency;
    private final Runnable changed;
    private final Invoker invoker;
    private final EventInvokeConfigApi eventInvokeConfigs;

    /** {@code changed} runs after every call that needs the reconciler's attention; Active functions' invocations go to {@code invoker}. */
    public LambdaApi(Database db, IamApi iam, Clock clock, int accountConcurrency, Runnable changed, Invoker invoker) {
        this.db = db;
        this.iam = iam;
        this.clock = clock;
        this.accountConcurrency = accountConcurrency;
        this.changed = changed;
        this.invoker = invoker;
        this.eventInvokeConfigs = new EventInvokeConfigApi(db, clock);
    }

    /** The routes, each entered through {@code door}. */
    public void addRoutes(RoutesConfig routes, Door door) {
        routes.post(FUNCTIONS, route(door, call -> done(create(call))));
        routes.get(FUNCTIONS, route(door, call -> done(listFunctions(call))));
        routes.get(FUNCTION, route(door, call -> done(getFunction(call))));
        routes.delete(FUNCTION, route(door, call -> done(delete(call))));
        routes.get(FUNCTION + "/configuration", route(door, call -> done(getConfiguration(call))));
        routes.put(FUNCTION + "/configuration", route(door, call -> done(updateConfiguration(call))));
        routes.put(FUNCTION + "/code", route(door, call -> done(updateCode(call))));
        routes.post(FUNCTION + "/versions", route(door, call -> done(publish(call))));
        routes.get(FUNCTION + "/versions", route(door, call -> done(listVersions(call))));
        routes.post(FUNCTION + "/invocations", route(door, this::invoke));
        routes.put("/2017-10-31/functions/{function}/concurrency", route(door, call -> done(putConcurrency(call))));
        routes.delete("/2017-10-31/functions/{function}/concurrency", route(door, call -> done(deleteConcurrency(call))));
        routes.get("/2019-09-30/functions/{function}/concurrency", route(door, call -> done(getConcurrency(call))));
        eventInvokeConfigs.addRoutes(routes, operation -> route(door, operation));
        // Last, so that every route above matches first (Javalin tries them in order).
        Handler unknown = route(door, LambdaApi::unknownOperation);
        for (String api : API_VERSIONS) {
            routes.get(api + "/*", unknown);
            routes.post(api + "/*", unknown);
            routes.put(api + "/*", unknown);
            routes.delete(api + "/*", unknown);
        }
    }

    /** A version's code (the zip as uploaded), or null if there is no such version; for workers. */
    public byte[] code(String account, String name, String version) {
        String base64 = db.inTransaction(c -> VersionStore.code(c, account, name, version));
        return base64 == null ? null : Base64.getDecoder().decode(base64);
    }

    /**
     * The route's handler: Lambda's errors, thrown or in the future, become their answers; the
     * future fails only with what is not one (a StoreException).
     */
    private static Handler route(Door door, Operation operation) {
        return ctx -> door.serve(ctx, call -> {
            try {
                return operation.answer(call).exceptionally(LambdaApi::errorOf);
            } catch (LambdaError e) {
                return CompletableFuture.completedFuture(error(e));
            }
        });
    }

    private static CompletableFuture<Response> done(Response response) {
        return CompletableFuture.completedFuture(response);
    }

    /** A call that failed later: Lambda's error, or (not being one) the failure as it was. */
    private static Response errorOf(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof LambdaError e) {
            return error(e);
        }
        throw failure instanceof CompletionException c ? c : new CompletionException(cause);
    }

    /**
     * TooManyRequestsException for a caller with its bound of API requests in flight (DESIGN.md §9),
     * with the reason Lambda's API model names for a caller's rate.
     */
    public static Response callerRateLimitExceeded() {
        return new Response(429, LambdaRenderer.write(LambdaRenderer.callerRateLimitExceeded()),
                Map.of("X-Amzn-ErrorType", "TooManyRequestsException"));
    }

    public static Response error(LambdaError e) {
        return new Response(e.status(), LambdaRenderer.write(LambdaRenderer.error(e)), Map.of("X-Amzn-ErrorType", e.type()));
    }

    private static CompletableFuture<Response> unknownOperation(Call call) {
        throw new LambdaError("UnknownOperationException", 400, "Unknown operation: " + call.method() + " " + call.rawPath());
    }

    static String arn(String region, String account, String name) {
        return "arn:aws:lambda:" + region + ":" + account + ":function:" + name;
    }

    /** The function the path names, with the Qualifier parameter; another account's ARN is refused. */
    private static FunctionRef ref(Call call) {
        return FunctionRef.parse(call.pathParams().get("function"), call.query().get("Qualifier"), call.account());
    }

    private static LambdaError notFound(Call call, FunctionRef ref) {
        return LambdaError.notFound(arn(call.region(), call.account(), ref.name()) + (ref.qualifier() == null ? "" : ":" + ref.qualifier()));
    }

    private static Response json(int status, JsonNode body) {
        return new Response(status, LambdaRenderer.write(body));
    }

    // ---- CreateFunction ------------------------------------------------------------------------

    private Response create(Call call) {
        CreateFunctionRequest request = CreateFunctionRequest.from(JsonFields.object(call.body()));
        String account = call.account();
        requireAssumable(account, request.role());
        Instant now = now();
        ObjectNode result = db.inTransaction(c -> {
            Accounts.lock(c, account);
            VpcChoice vpc = vpcChoice(c, account, request.vpcConfig());
            if (FunctionStore.exists(c, account, request.functionName())) {
                throw LambdaError.conflict("Function already exist: " + request.functionName());
            }
            FunctionLifecycle.Transition created = FunctionLifecycle.create(now);
            FunctionStore.insert(c, account, request.functionName(), created, now);
            FunctionCode code = request.code();
            Version latest = new Version(request.functionName(), FunctionStore.LATEST, request.runtime(), request.handler(), request.role(),
                    request.description(), request.timeout(), request.memorySize(), request.ephemeralStorage(), request.environment(),
                    code.sha256(), code.size(), vpc.subnets(), vpc.groups(), vpc.vpcId(), UUID.randomUUID().toString(), now);
            VersionStore.put(c, account, latest, code.base64());
            Version shown = request.publish() ? publishVersion(c, account, latest) : latest;
            return LambdaRenderer.configuration(call.region(), account, shown, created.to());
        });
        changed.run();
        return json(201, result);
    }

    /** The role's account must be the caller's, and the role must trust Lambda. */
    private void requireAssumable(String account, String role) {
        if (!LambdaConstraints.roleAccount(role).equals(account) || !iam.canBeAssumedBy(account, role, "lambda.amazonaws.com")) {
            throw LambdaError.invalid("The role defined for the function cannot be assumed by Lambda.");
        }
    }

    /** A function's VPC as stored: no VPC (vpcId null), detached (shown as an empty VpcConfig), or subnets and groups of one VPC. */
    private record VpcChoice(List<String> subnets, List<String> groups, String vpcId) {
        static final VpcChoice NONE = new VpcChoice(List.of(), List.of(), null);
        static final VpcChoice DETACHED = new VpcChoice(List.of(), List.of(), "");
    }

    /**
     * A VpcConfig's subnets and groups, found in the caller's account, the subnets in one VPC and
     * the groups in that VPC; duplicates dropped.
     */
    private static VpcChoice vpcChoice(Connection c, String account, VpcConfigRequest vpc) throws SQLException {
        if (vpc == null) {
            return VpcChoice.NONE;
        }
        if (vpc.detaches()) {
            return VpcChoice.DETACHED;
        }
        String vpcId = null;
        for (String subnet : vpc.subnetIds()) {
            Optional<String> found = VpcLookup.subnetVpc(c, account, subnet);
            if (found.isEmpty()) {
                throw LambdaError.invalid("Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. EC2 Error Message: "
                        + "The subnet ID '" + subnet + "' does not exist");
            }
            if (vpcId != null && !vpcId.equals(found.get())) {
                throw LambdaError.invalid("The provided subnets " + String.join(", ", vpc.subnetIds()) + " are not all in the same VPC: " + vpcId
                        + " and " + found.get() + ".");
            }
            vpcId = found.get();
        }
        for (String group : vpc.securityGroupIds()) {
            Optional<String> found = VpcLookup.groupVpc(c, account, group);
            if (found.isEmpty()) {
                throw LambdaError.invalid("Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. EC2 Error Message: "
                        + "The security group '" + group + "' does not exist");
            }
            if (!found.get().equals(vpcId)) {
                throw LambdaError.invalid("Security group " + group + " belongs to " + found.get() + ", not to the subnets' VPC " + vpcId + ".");
            }
        }
        return new VpcChoice(List.copyOf(new LinkedHashSet<>(vpc.subnetIds())), List.copyOf(new LinkedHashSet<>(vpc.securityGroupIds())), vpcId);
    }

    // ---- Get / List ----------------------------------------------------------------------------

    private Response getConfiguration(Call call) {
        FunctionRef ref = ref(call);
        return json(200, db.inTransaction(c -> {
            Version v = VersionStore.get(c, call.account(), ref.name(), ref.version()).orElseThrow(() -> notFound(call, ref));
            return LambdaRenderer.configuration(call.region(), call.account(), v, FunctionStore.get(c, call.account(), ref.name()).orElseThrow().status());
        }));
    }

    private Response getFunction(Call call) {
        FunctionRef ref = ref(call);
        return json(200, db.inTransaction(c -> {
            Version v = VersionStore.get(c, call.account(), ref.name(), ref.version()).orElseThrow(() -> notFound(call, ref));
            FunctionStore.Row function = FunctionStore.get(c, call.account(), ref.name()).orElseThrow();
            return LambdaRenderer.function(call.region(), call.account(), v, function.status(), function.reservedConcurrency());
        }));
    }

    private Response listFunctions(Call call) {
        ListRequest request = ListRequest.from(call.query());
        return json(200, db.inTransaction(c -> {
            List<ObjectNode> items = new ArrayList<>();
            for (String name : FunctionStore.names(c, call.account())) {
                FunctionStatus status = FunctionStore.get(c, call.account(), name).orElseThrow().status();
                List<Version> versions = request.allVersions() ? VersionStore.all(c, call.account(), name)
                        : List.of(VersionStore.get(c, call.account(), name, FunctionStore.LATEST).orElseThrow());
                for (Version v : versions) {
                    items.add(LambdaRenderer.configuration(call.region(), call.account(), v, status));
                }
            }
            return LambdaRenderer.page(items, request, "Functions");
        }));
    }

    private Response listVersions(Call call) {
        FunctionRef ref = ref(call);
        ListRequest request = ListRequest.from(call.query());
        return json(200, db.inTransaction(c -> {
            FunctionStatus status = FunctionStore.get(c, call.account(), ref.name()).orElseThrow(() -> notFound(call, ref)).status();
            List<ObjectNode> items = new ArrayList<>();
            for (Version v : VersionStore.all(c, call.account(), ref.name())) {
                items.add(LambdaRenderer.configuration(call.region(), call.account(), v, status));
            }
            return LambdaRenderer.page(items, request, "Versions");
        }));
    }

    // ---- Updates -------------------------------------------------------------------------------

    private Response updateConfiguration(Call call) {
        FunctionRef ref = ref(call);
        JsonNode body = JsonFields.object(call.body());
        requireLatest(ref, "UpdateFunctionConfiguration");
        UpdateConfigurationRequest request = UpdateConfigurationRequest.from(body);
        String account = call.account();
        if (request.role() != null) {
            requireAssumable(account, request.role());
        }
        Instant now = now();
        ObjectNode result = db.inTransaction(c -> {
            Updatable latest = latestToUpdate(c, call, ref);
            Version v = latest.version();
            FunctionStatus status = latest.status();
            checkRevision(request.revisionId(), v);
            VpcChoice vpc = request.vpcConfigGiven() ? vpcChoice(c, account, request.vpcConfig())
                    : new VpcChoice(v.subnetIds(), v.securityGroupIds(), v.vpcId());
            Version updated = new Version(v.name(), v.version(), orElse(request.runtime(), v.runtime()), orElse(request.handler(), v.handler()),
                    orElse(request.role(), v.role()), orElse(request.description(), v.description()), orElse(request.timeout(), v.timeout()),
                    orElse(request.memorySize(), v.memory()), orElse(request.ephemeralStorage(), v.ephemeralStorage()),
                    request.environmentGiven() ? request.environment() : v.environment(), v.codeSha256(), v.codeSize(), vpc.subnets(), vpc.groups(),
                    vpc.vpcId(), UUID.randomUUID().toString(), now);
            VersionStore.update(c, account, updated);
            FunctionLifecycle.Transition update = FunctionLifecycle.startUpdate(status, now);
            FunctionStore.write(c, account, ref.name(), update);
            return LambdaRenderer.configuration(call.region(), account, updated, update.to());
        });
        changed.run();
        return json(200, result);
    }

    private static <T> T orElse(T given, T otherwise) {
        return given == null ? otherwise : given;
    }

    private Response updateCode(Call call) {
        FunctionRef ref = ref(call);
        JsonNode body = JsonFields.object(call.body());
        requireLatest(ref, "UpdateFunctionCode");
        UpdateCodeRequest request = UpdateCodeRequest.from(body);
        String account = call.account();
        Instant now = now();
        ObjectNode result = db.inTransaction(c -> {
            Updatable latest = latestToUpdate(c, call, ref);
            Version v = latest.version();
            FunctionStatus status = latest.status();
            checkRevision(request.revisionId(), v);
            FunctionCode code = request.code();
            Version updated = v.withCode(code, request.dryRun() ? v.revisionId() : UUID.randomUUID().toString(), request.dryRun() ? v.lastModified() : now);
            if (request.dryRun()) {
                return LambdaRenderer.configuration(call.region(), account, updated, status);
            }
            VersionStore.update(c, account, updated);
            VersionStore.setLatestCode(c, account, ref.name(), code.base64());
            if (request.publish() && status.state() == FunctionState.ACTIVE) {
                // The code change needs no new network: publish at once, as Lambda does with Publish=true.
                return LambdaRenderer.configuration(call.region(), account, publishVersion(c, account, updated), status);
            }
            FunctionLifecycle.Transition update = FunctionLifecycle.startUpdate(status, now);
            FunctionStore.write(c, account, ref.name(), update);
            return LambdaRenderer.configuration(call.region(), account, updated, update.to());
        });
        changed.run();
        return json(200, result);
    }

    private static void requireLatest(FunctionRef ref, String operation) {
        if (ref.qualifier() != null && !ref.qualifier().equals(FunctionStore.LATEST)) {
            throw LambdaError.invalid(operation + " applies to $LATEST only; published versions are immutable.");
        }
    }

    /** The function's status, if it may change now: not while it is Pending or an update is InProgress. */
    /** $LATEST and the function's state, read under the account's lock for a change to start from. */
    private record Updatable(Version version, FunctionStatus status) {
    }

    /**
     * Locks the account and reads $LATEST; throws ResourceNotFound when the function is not there,
     * and ResourceConflict while an earlier change is still settling.
     */
    private static Updatable latestToUpdate(Connection c, Call call, FunctionRef ref) throws SQLException {
        Accounts.lock(c, call.account());
        Version latest = VersionStore.get(c, call.account(), ref.name(), FunctionStore.LATEST).orElseThrow(() -> notFound(call, ref));
        FunctionStatus status = FunctionStore.get(c, call.account(), ref.name()).orElseThrow(() -> notFound(call, ref)).status();
        if (status.settling()) {
            throw LambdaError.conflict("The operation cannot be performed at this time. An update is in progress for resource: "
                    + arn(call.region(), call.account(), ref.name()));
        }
        return new Updatable(latest, status);
    }

    private static void checkRevision(String revisionId, Version v) {
        if (revisionId != null && !revisionId.equals(v.revisionId())) {
            throw new LambdaError("PreconditionFailedException", 412, "The Revision Id provided does not match the latest Revision Id. "
                    + "Call the GetFunction/GetAlias API to retrieve the latest Revision Id");
        }
    }

    // ---- Versions ------------------------------------------------------------------------------

    private Response publish(Call call) {
        FunctionRef ref = ref(call);
        PublishVersionRequest request = PublishVersionRequest.from(JsonFields.object(call.body()));
        String account = call.account();
        ObjectNode result = db.inTransaction(c -> {
            Updatable updatable = latestToUpdate(c, call, ref);
            Version latest = updatable.version();
            FunctionStatus status = updatable.status();
            if (status.state() != FunctionState.ACTIVE) {
                throw notNow(status.state());
            }
            if (request.codeSha256() != null && !request.codeSha256().equals(latest.codeSha256())) {
                throw LambdaError.invalid("CodeSHA256 (" + request.codeSha256() + ") is different from current CodeSHA256 in $LATEST ("
                        + latest.codeSha256() + "). Please try again with the CodeSHA256 in $LATEST.");
            }
            checkRevision(request.revisionId(), latest);
            Version copy = publishVersion(c, account, request.description() == null ? latest : latest.withDescription(request.description()));
            return LambdaRenderer.configuration(call.region(), account, copy, status);
        });
        changed.run();
        return json(201, result);
    }

    private static LambdaError notNow(FunctionState state) {
        return LambdaError.conflict("The operation cannot be performed at this time. The function is currently in the following state: " + state);
    }

    /** Copies $LATEST (as given) to the next version number, with $LATEST's code and the ENIs it runs on. */
    private Version publishVersion(Connection c, String account, Version latest) throws SQLException {
        String name = latest.name();
        int number = FunctionStore.takeVersionNumber(c, account, name);
        Version copy = latest.publishedAs(number, UUID.randomUUID().toString(), now());
        VersionStore.put(c, account, copy, VersionStore.code(c, account, name, FunctionStore.LATEST));
        VersionStore.runOn(c, account, name, copy.version(), VersionStore.enis(c, account, name, FunctionStore.LATEST));
        return copy;
    }

    private Response delete(Call call) {
        FunctionRef ref = ref(call);
        String account = call.account();
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (!FunctionStore.exists(c, account, ref.name())) {
                throw notFound(call, ref);
            }
            if (ref.qualifier() == null) {
                FunctionStore.delete(c, account, ref.name());
                return null;
            }
            if (ref.qualifier().equals(FunctionStore.LATEST)) {
                throw LambdaError.invalid("$LATEST version cannot be deleted without deleting the function.");
            }
            if (!VersionStore.delete(c, account, ref.name(), ref.qualifier())) {
                throw notFound(call, ref);
            }
            return null;
        });
        if (ref.qualifier() == null) {
            invoker.functionDeleted(account, ref.name());
        }
        changed.run();
        return new Response(204, null);
    }

    // ---- Concurrency ---------------------------------------------------------------------------

    private Response putConcurrency(Call call) {
        FunctionRef ref = ref(call);
        int reserved = ConcurrencyRequest.from(JsonFields.object(call.body())).reservedConcurrentExecutions();
        String account = call.account();
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (!FunctionStore.exists(c, account, ref.name())) {
                throw notFound(call, ref);
            }
            if (accountConcurrency - FunctionStore.reservedByOthers(c, account, ref.name()) - reserved < UNRESERVED_MINIMUM) {
                throw LambdaError.invalid("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its"
                        + " minimum value of [" + UNRESERVED_MINIMUM + "].");
            }
            FunctionStore.reserveConcurrency(c, account, ref.name(), reserved);
            return null;
        });
        return json(200, LambdaRenderer.concurrency(reserved));
    }

    private Response getConcurrency(Call call) {
        FunctionRef ref = ref(call);
        Integer reserved = db.inTransaction(c -> FunctionStore.get(c, call.account(), ref.name())
                .orElseThrow(() -> notFound(call, ref)).reservedConcurrency());
        return json(200, LambdaRenderer.concurrency(reserved));
    }

    private Response deleteConcurrency(Call call) {
        FunctionRef ref = ref(call);
        db.inTransaction(c -> {
            Accounts.lock(c, call.account());
            if (!FunctionStore.exists(c, call.account(), ref.name())) {
                throw notFound(call, ref);
            }
            FunctionStore.reserveConcurrency(c, call.account(), ref.name(), null);
            return null;
        });
        return new Response(204, null);
    }

    // ---- Invoke (state checks; running the code is the runtime's) -------------------------------

    /** What one read of the function decided: its state, and where to run it when it is Active. */
    private record Admission(FunctionState state, InvocationService.Target target) {
    }

    /**
     * One transaction reads the function once: an Active function's version, ENIs and concurrency
     * go to the invoker; the first invoke attempt of an Inactive one starts restoring its network,
     * and fails; any other state is refused.
     */
    private CompletableFuture<Response> invoke(Call call) {
        FunctionRef ref = ref(call);
        String account = call.account();
        Admission admission = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Version v = VersionStore.get(c, account, ref.name(), ref.version()).orElseThrow(() -> notFound(call, ref));
            FunctionStore.Row function = FunctionStore.get(c, account, ref.name()).orElseThrow();
            Instant now = now();
            switch (function.status().state()) {
                case INACTIVE -> {
                    FunctionStore.write(c, account, ref.name(), FunctionLifecycle.restore(function.status(), now));
                    FunctionStore.invoked(c, account, ref.name(), now);
                    return new Admission(FunctionState.INACTIVE, null);
                }
                case ACTIVE -> {
                    FunctionStore.invoked(c, account, ref.name(), now);
                    return new Admission(FunctionState.ACTIVE, new InvocationService.Target(account, call.region(), v,
                            function.reservedConcurrency(), VersionStore.subnets(c, account, ref.name(), ref.version()),
                            FunctionStore.reservedByOthers(c, account, ref.name())));
                }
                default -> {
                    return new Admission(function.status().state(), null);
                }
            }
        });
        return switch (admission.state()) {
            case INACTIVE -> {
                changed.run();
                throw new LambdaError("ResourceNotReadyException", 502,
                        "The function is inactive and its VPC connection is no longer available. Please try again later.");
            }
            case ACTIVE -> invoker.invoke(admission.target(), call.headers(), call.body());
            default -> throw notNow(admission.state());
        };
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
