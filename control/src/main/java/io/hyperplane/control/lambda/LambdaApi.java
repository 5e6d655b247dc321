package io.hyperplane.control.lambda;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.iam.IamApi;
import io.hyperplane.control.lambda.FunctionStore.Lifecycle;
import io.hyperplane.control.lambda.FunctionStore.Version;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The Lambda REST API (2015-03-31) for functions: CreateFunction, GetFunction(Configuration),
 * UpdateFunctionConfiguration/Code, PublishVersion, ListVersionsByFunction, DeleteFunction,
 * ListFunctions, Put/Get/DeleteFunctionConcurrency, and Invoke's state checks. JSON shapes, error
 * types ({@code X-Amzn-ErrorType}) and status codes are Lambda's. A function with a VpcConfig is
 * created Pending; the {@link FunctionReconciler} gives it its Hyperplane ENIs and makes it Active
 * or Failed. Every call runs in one transaction under the account's row lock.
 */
public final class LambdaApi {
    static final int MAX_SUBNETS = 16;
    static final int MAX_SECURITY_GROUPS = 5;
    /** Lambda's quota for a deployment package unzipped: 250 MB (the limit and message of its API). */
    static final long MAX_UNZIPPED_BYTES = 262_144_000L;
    private static final int UNRESERVED_MINIMUM = 100; // Lambda keeps this much of the account's concurrency unreserved
    private static final int MAX_ENVIRONMENT_BYTES = 4096;
    private static final int DEFAULT_EPHEMERAL_STORAGE_MB = 512; // Lambda's /tmp when a function does not choose one
    private static final int MIN_EPHEMERAL_STORAGE_MB = 512; // the API model's EphemeralStorageSize: 512..10240 MB
    private static final int MAX_EPHEMERAL_STORAGE_MB = 10240;
    /**
     * Names Lambda sets in every execution environment and refuses in a function's configuration
     * (AWS Lambda developer guide, "Defined runtime environment variables": the reserved ones). The
     * two with a leading underscore never get this far: the API's name pattern refuses them first.
     */
    private static final Set<String> RESERVED_ENVIRONMENT = Set.of("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
            "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR");
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
    private static final Pattern ROLE = Pattern.compile("arn:(aws[a-zA-Z-]*)?:iam::(\\d{12}):role/?([a-zA-Z_0-9+=,.@\\-_/]+)");
    private static final Set<String> RUNTIMES = Set.of("provided.al2023", "provided.al2", "provided", "java25", "java21", "java17", "java11",
            "java8.al2", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10", "python3.9", "nodejs24.x", "nodejs22.x",
            "nodejs20.x", "nodejs18.x", "ruby3.4", "ruby3.3", "ruby3.2", "dotnet8");
    private static final DateTimeFormatter LAST_MODIFIED = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ").withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern FUNCTION_PATH = Pattern.compile("/(2015-03-31|2017-10-31|2019-09-30)/functions/([^/]+)(/[a-z]+)?/?");

    /**
     * What a function invocation is handed to once the function is Active (the runtime, issue 5).
     * The answer is a future: a synchronous invocation holds no thread while its function runs.
     * Failures are LambdaErrors, thrown or in the future.
     */
    public interface Invoker {
        CompletableFuture<Response> invoke(String account, String region, String functionName, String version, Map<String, String> headers,
                                           byte[] payload);

        Invoker NONE = (account, region, name, version, headers, payload) -> {
            throw new LambdaError("ServiceException", 500, "No worker is available to run function " + name + ".");
        };

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

    private final Database db;
    private final IamApi iam;
    private final Clock clock;
    private final int accountConcurrency;
    private final Runnable changed;
    private volatile Invoker invoker = Invoker.NONE;

    /** {@code changed} runs after every call that needs the reconciler's attention. */
    public LambdaApi(Database db, IamApi iam, Clock clock, int accountConcurrency, Runnable changed) {
        this.db = db;
        this.iam = iam;
        this.clock = clock;
        this.accountConcurrency = accountConcurrency;
        this.changed = changed;
    }

    public void invoker(Invoker invoker) {
        this.invoker = invoker;
    }

    /** A version's code (the zip as uploaded), or null if there is no such version; for workers. */
    public byte[] code(String account, String name, String version) {
        String base64 = db.inTransaction(c -> FunctionStore.codeBase64(c, account, name, version));
        return base64 == null ? null : Base64.getDecoder().decode(base64);
    }

    /**
     * Serves one request; {@code rawPath} is as received (percent-encoded). Every call but Invoke is
     * answered before this returns; Invoke's answer comes when its worker's does. Lambda's errors
     * are answers too; the future fails only with what is not one (a StoreException).
     */
    public CompletableFuture<Response> handle(String account, String region, String method, String rawPath, Map<String, String> query,
                                              Map<String, String> headers, byte[] body) {
        try {
            String path = rawPath.endsWith("/") && rawPath.length() > 1 ? rawPath.substring(0, rawPath.length() - 1) : rawPath;
            if (path.equals("/2015-03-31/functions")) {
                return CompletableFuture.completedFuture(switch (method) {
                    case "POST" -> create(account, region, object(body));
                    case "GET" -> list(account, region, query);
                    default -> throw unknownOperation(method, rawPath);
                });
            }
            Matcher m = FUNCTION_PATH.matcher(path);
            if (!m.matches()) {
                throw unknownOperation(method, rawPath);
            }
            String api = m.group(1);
            String sub = m.group(3) == null ? "" : m.group(3);
            FunctionRef ref = FunctionRef.parse(URLDecoder.decode(m.group(2).replace("+", "%2B"), StandardCharsets.UTF_8), query.get("Qualifier"), account);
            String route = api + " " + method + " " + sub;
            if (route.equals("2015-03-31 POST /invocations")) {
                return invoke(account, region, ref, headers, body).exceptionally(LambdaApi::errorOf);
            }
            return CompletableFuture.completedFuture(switch (route) {
                case "2015-03-31 GET " -> getFunction(account, region, ref);
                case "2015-03-31 DELETE " -> delete(account, region, ref);
                case "2015-03-31 GET /configuration" -> new Response(200, write(configuration(account, region, ref)));
                case "2015-03-31 PUT /configuration" -> updateConfiguration(account, region, ref, object(body));
                case "2015-03-31 PUT /code" -> updateCode(account, region, ref, object(body));
                case "2015-03-31 POST /versions" -> publish(account, region, ref, object(body));
                case "2015-03-31 GET /versions" -> listVersions(account, region, ref, query);
                case "2017-10-31 PUT /concurrency" -> putConcurrency(account, region, ref, object(body));
                case "2017-10-31 DELETE /concurrency" -> deleteConcurrency(account, region, ref);
                case "2019-09-30 GET /concurrency" -> getConcurrency(account, region, ref);
                default -> throw unknownOperation(method, rawPath);
            });
        } catch (LambdaError e) {
            return CompletableFuture.completedFuture(error(e));
        }
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
        ObjectNode body = NODES.objectNode().put("Reason", "CallerRateLimitExceeded").put("Type", "User").put("message", "Rate exceeded.");
        return new Response(429, write(body), Map.of("X-Amzn-ErrorType", "TooManyRequestsException"));
    }

    public static Response error(LambdaError e) {
        ObjectNode body = NODES.objectNode().put("Type", e.status() >= 500 ? "Service" : "User").put("message", e.getMessage());
        return new Response(e.status(), write(body), Map.of("X-Amzn-ErrorType", e.type()));
    }

    private static LambdaError unknownOperation(String method, String path) {
        return new LambdaError("UnknownOperationException", 400, "Unknown operation: " + method + " " + path);
    }

    // ---- CreateFunction ------------------------------------------------------------------------

    private Response create(String account, String region, JsonNode request) {
        String name = text(request, "FunctionName");
        if (name == null) {
            throw LambdaError.validation("null", "functionName", "Member must not be null");
        }
        if (!NAME.matcher(name).matches()) {
            throw LambdaError.validation(name, "functionName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
        }
        String role = role(account, text(request, "Role"));
        String packageType = text(request, "PackageType");
        if (packageType != null && !packageType.equals("Zip")) {
            throw LambdaError.invalid("PackageType " + packageType + " is not supported here: only Zip packages are.");
        }
        String runtime = runtime(text(request, "Runtime"));
        String handler = handler(runtime, text(request, "Handler"));
        JsonNode codeNode = request.get("Code");
        if (codeNode == null || !codeNode.isObject()) {
            throw LambdaError.validation("null", "code", "Member must not be null");
        }
        Code code = code(codeNode);
        int timeout = range(request, "Timeout", 3, 1, 900, "timeout");
        int memory = range(request, "MemorySize", 128, 128, 10240, "memorySize");
        Integer requestedStorage = ephemeralStorage(request);
        int ephemeralStorage = requestedStorage == null ? DEFAULT_EPHEMERAL_STORAGE_MB : requestedStorage;
        Map<String, String> environment = environment(request.get("Environment"));
        String description = description(text(request, "Description"));
        boolean publish = request.path("Publish").asBoolean(false);
        Instant now = now();
        ObjectNode result = db.inTransaction(c -> {
            Accounts.lock(c, account);
            VpcChoice vpc = vpcConfig(c, account, request.get("VpcConfig"));
            if (FunctionStore.exists(c, account, name)) {
                throw LambdaError.conflict("Function already exist: " + name);
            }
            FunctionStore.insertFunction(c, account, name, now);
            Version latest = new Version(name, FunctionStore.LATEST, runtime, handler, role, description, timeout, memory, ephemeralStorage,
                    environment, code.sha256(), code.size(), vpc.subnets(), vpc.groups(), vpc.vpcId(), UUID.randomUUID().toString(), now);
            FunctionStore.putVersion(c, account, latest, code.base64());
            if (publish) {
                return render(region, account, publishVersion(c, account, name, latest), FunctionStore.lifecycle(c, account, name).orElseThrow());
            }
            return render(region, account, latest, FunctionStore.lifecycle(c, account, name).orElseThrow());
        });
        changed.run();
        return new Response(201, write(result));
    }

    private record VpcChoice(List<String> subnets, List<String> groups, String vpcId) {
        static final VpcChoice NONE = new VpcChoice(List.of(), List.of(), null);
        /** Empty lists: no VPC, shown as an empty VpcConfig (as Lambda shows a detached function). */
        static final VpcChoice DETACHED = new VpcChoice(List.of(), List.of(), "");
    }

    /**
     * Validates a VpcConfig: at most 16 subnets and 5 groups, all existing in the caller's account,
     * the subnets in one VPC and the groups in that VPC. Null means no VPC; empty lists detach.
     */
    private static VpcChoice vpcConfig(Connection c, String account, JsonNode vpc) throws SQLException {
        if (vpc == null || vpc.isNull()) {
            return VpcChoice.NONE;
        }
        List<String> subnets = strings(vpc.get("SubnetIds"), "vpcConfig.subnetIds");
        List<String> groups = strings(vpc.get("SecurityGroupIds"), "vpcConfig.securityGroupIds");
        if (subnets.size() > MAX_SUBNETS) {
            throw LambdaError.validation(subnets.toString(), "vpcConfig.subnetIds", "Member must have length less than or equal to " + MAX_SUBNETS);
        }
        if (groups.size() > MAX_SECURITY_GROUPS) {
            throw LambdaError.validation(groups.toString(), "vpcConfig.securityGroupIds", "Member must have length less than or equal to " + MAX_SECURITY_GROUPS);
        }
        if (vpc.path("Ipv6AllowedForDualStack").asBoolean(false)) {
            throw LambdaError.invalid("Ipv6AllowedForDualStack is not supported: Hyperplane ENIs here are IPv4 only.");
        }
        if (subnets.isEmpty() && groups.isEmpty()) {
            return VpcChoice.DETACHED;
        }
        if (subnets.isEmpty() || groups.isEmpty()) {
            throw LambdaError.invalid(subnets.isEmpty() ? "SubnetIds must be provided when SecurityGroupIds are specified."
                    : "SecurityGroupIds must be provided when SubnetIds are specified.");
        }
        String vpcId = null;
        for (String subnet : subnets) {
            List<String> found = Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnet, account);
            if (found.isEmpty()) {
                throw LambdaError.invalid("Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. EC2 Error Message: "
                        + "The subnet ID '" + subnet + "' does not exist");
            }
            if (vpcId != null && !vpcId.equals(found.getFirst())) {
                throw LambdaError.invalid("The provided subnets " + String.join(", ", subnets) + " are not all in the same VPC: " + vpcId
                        + " and " + found.getFirst() + ".");
            }
            vpcId = found.getFirst();
        }
        for (String group : groups) {
            List<String> found = Sql.strings(c, "SELECT vpc_id FROM security_groups WHERE id = ? AND account_id = ?", group, account);
            if (found.isEmpty()) {
                throw LambdaError.invalid("Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. EC2 Error Message: "
                        + "The security group '" + group + "' does not exist");
            }
            if (!found.getFirst().equals(vpcId)) {
                throw LambdaError.invalid("Security group " + group + " belongs to " + found.getFirst() + ", not to the subnets' VPC " + vpcId + ".");
            }
        }
        return new VpcChoice(List.copyOf(new LinkedHashSet<>(subnets)), List.copyOf(new LinkedHashSet<>(groups)), vpcId);
    }

    private String role(String account, String role) {
        if (role == null) {
            throw LambdaError.validation("null", "role", "Member must not be null");
        }
        Matcher m = ROLE.matcher(role);
        if (!m.matches()) {
            throw LambdaError.validation(role, "role", "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
        }
        if (!m.group(2).equals(account) || !iam.canBeAssumedBy(account, role, "lambda.amazonaws.com")) {
            throw LambdaError.invalid("The role defined for the function cannot be assumed by Lambda.");
        }
        return role;
    }

    private static String runtime(String runtime) {
        if (runtime == null) {
            throw LambdaError.invalid("Runtime is required for .zip deployment packages.");
        }
        if (!RUNTIMES.contains(runtime)) {
            throw LambdaError.invalid("Value " + runtime + " at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
                    + new java.util.TreeSet<>(RUNTIMES) + " or be a valid ARN");
        }
        return runtime;
    }

    private static String handler(String runtime, String handler) {
        if (handler == null && !runtime.startsWith("provided")) {
            throw LambdaError.invalid("Handler is required for .zip deployment packages.");
        }
        if (handler != null && (handler.length() > 128 || !handler.matches("[^\\s]+"))) {
            throw LambdaError.validation(handler, "handler", "Member must satisfy regular expression pattern: [^\\s]+");
        }
        return handler;
    }

    private record Code(String base64, String sha256, long size) {
    }

    private static Code code(JsonNode code) {
        if (code.hasNonNull("S3Bucket") || code.hasNonNull("ImageUri")) {
            throw LambdaError.invalid("Only ZipFile code is supported here; S3 and container images are not.");
        }
        String zip = text(code, "ZipFile");
        if (zip == null) {
            throw LambdaError.invalid("Please provide a source for function code.");
        }
        return zipCode(zip);
    }

    private static Code zipCode(String base64) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw LambdaError.invalid("ZipFile is not valid base64: " + e.getMessage());
        }
        long unzipped = bytes.length == 0 ? -1 : unzippedSize(bytes);
        if (unzipped < 0) {
            throw LambdaError.invalid("Could not unzip uploaded file. Please check your file, then try to upload again.");
        }
        if (unzipped > MAX_UNZIPPED_BYTES) {
            throw LambdaError.invalid("Unzipped size must be smaller than " + MAX_UNZIPPED_BYTES + " bytes");
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return new Code(Base64.getEncoder().encodeToString(bytes), Base64.getEncoder().encodeToString(digest), bytes.length);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The bytes the zip unpacks to, counted as they are inflated (never what its headers claim), or
     * -1 if it is not a zip with at least one entry; counting stops past {@link #MAX_UNZIPPED_BYTES}.
     */
    private static long unzippedSize(byte[] bytes) {
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
            if (zip.getNextEntry() == null) {
                return -1;
            }
            long total = 0;
            byte[] chunk = new byte[64 * 1024];
            do {
                int n;
                while ((n = zip.read(chunk)) > 0) {
                    total += n;
                    if (total > MAX_UNZIPPED_BYTES) {
                        return total;
                    }
                }
            } while (zip.getNextEntry() != null);
            return total;
        } catch (IOException e) {
            return -1;
        }
    }

    private static Map<String, String> environment(JsonNode environment) {
        if (environment == null || environment.isNull()) {
            return null;
        }
        JsonNode variables = environment.get("Variables");
        Map<String, String> out = new LinkedHashMap<>();
        if (variables != null && variables.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = variables.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                if (!field.getKey().matches("[a-zA-Z]([a-zA-Z0-9_])+")) {
                    throw LambdaError.validation(field.getKey(), "environment.variables", "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+");
                }
                out.put(field.getKey(), field.getValue().asText());
            }
        }
        List<String> reserved = out.keySet().stream().filter(RESERVED_ENVIRONMENT::contains).toList();
        if (!reserved.isEmpty()) {
            throw LambdaError.invalid("Lambda was unable to configure your environment variables because the environment variables you have provided"
                    + " contains reserved keys that are currently not supported for modification. Reserved keys used in this request: "
                    + String.join(", ", reserved));
        }
        if (write(NODES.pojoNode(out)).getBytes(StandardCharsets.UTF_8).length > MAX_ENVIRONMENT_BYTES) {
            throw LambdaError.invalid("Lambda was unable to configure your environment variables because the environment variables you have provided"
                    + " exceeded the 4KB limit.");
        }
        return out;
    }

    /** EphemeralStorage's Size, or null when the request has no EphemeralStorage. */
    private static Integer ephemeralStorage(JsonNode request) {
        JsonNode storage = request.get("EphemeralStorage");
        if (storage == null || storage.isNull()) {
            return null;
        }
        if (!storage.hasNonNull("Size")) { // Size is required in the API model's EphemeralStorage
            throw LambdaError.validation("null", "ephemeralStorage.size", "Member must not be null");
        }
        return range(storage, "Size", DEFAULT_EPHEMERAL_STORAGE_MB, MIN_EPHEMERAL_STORAGE_MB, MAX_EPHEMERAL_STORAGE_MB, "ephemeralStorage.size");
    }

    private static String description(String description) {
        if (description != null && description.length() > 256) {
            throw LambdaError.validation(description, "description", "Member must have length less than or equal to 256");
        }
        return description == null ? "" : description;
    }

    // ---- Get / List ----------------------------------------------------------------------------

    private ObjectNode configuration(String account, String region, FunctionRef ref) {
        return db.inTransaction(c -> {
            Version v = FunctionStore.version(c, account, ref.name(), ref.version()).orElseThrow(() -> notFound(region, account, ref));
            return render(region, account, v, FunctionStore.lifecycle(c, account, ref.name()).orElseThrow());
        });
    }

    private Response getFunction(String account, String region, FunctionRef ref) {
        ObjectNode out = NODES.objectNode();
        Integer reserved = db.inTransaction(c -> {
            Version v = FunctionStore.version(c, account, ref.name(), ref.version()).orElseThrow(() -> notFound(region, account, ref));
            Lifecycle lifecycle = FunctionStore.lifecycle(c, account, ref.name()).orElseThrow();
            out.set("Configuration", render(region, account, v, lifecycle));
            return lifecycle.reservedConcurrency();
        });
        out.putObject("Code").put("RepositoryType", "S3").put("Location", "hyperplane://functions/" + ref.name() + "/" + ref.version() + "/code.zip");
        if (reserved != null) {
            out.putObject("Concurrency").put("ReservedConcurrentExecutions", reserved);
        }
        return new Response(200, write(out));
    }

    private Response list(String account, String region, Map<String, String> query) {
        boolean all = "ALL".equals(query.get("FunctionVersion"));
        int max = query.containsKey("MaxItems") ? intParameter(query.get("MaxItems"), "maxItems", 1, 10000) : 50;
        max = Math.min(max, 50);
        int start = marker(query.get("Marker"));
        int limit = max;
        return db.inTransaction(c -> {
            List<ObjectNode> items = new ArrayList<>();
            for (String name : FunctionStore.names(c, account)) {
                Lifecycle lifecycle = FunctionStore.lifecycle(c, account, name).orElseThrow();
                List<Version> versions = all ? FunctionStore.allVersions(c, account, name)
                        : List.of(FunctionStore.version(c, account, name, FunctionStore.LATEST).orElseThrow());
                for (Version v : versions) {
                    items.add(render(region, account, v, lifecycle));
                }
            }
            return page(items, start, limit, "Functions");
        });
    }

    private Response listVersions(String account, String region, FunctionRef ref, Map<String, String> query) {
        int max = query.containsKey("MaxItems") ? Math.min(50, intParameter(query.get("MaxItems"), "maxItems", 1, 10000)) : 50;
        int start = marker(query.get("Marker"));
        return db.inTransaction(c -> {
            Lifecycle lifecycle = FunctionStore.lifecycle(c, account, ref.name()).orElseThrow(() -> notFound(region, account, ref));
            List<ObjectNode> items = new ArrayList<>();
            for (Version v : FunctionStore.allVersions(c, account, ref.name())) {
                items.add(render(region, account, v, lifecycle));
            }
            return page(items, start, max, "Versions");
        });
    }

    private static Response page(List<ObjectNode> items, int start, int max, String member) {
        ObjectNode out = NODES.objectNode();
        ArrayNode array = out.putArray(member);
        int end = Math.min(items.size(), start + max);
        for (int i = Math.min(start, items.size()); i < end; i++) {
            array.add(items.get(i));
        }
        if (end < items.size()) {
            out.put("NextMarker", Base64.getEncoder().encodeToString(Integer.toString(end).getBytes(StandardCharsets.UTF_8)));
        }
        return new Response(200, write(out));
    }

    private static int marker(String marker) {
        if (marker == null || marker.isEmpty()) {
            return 0;
        }
        try {
            return Integer.parseInt(new String(Base64.getDecoder().decode(marker), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw LambdaError.invalid("Invalid Marker: " + marker);
        }
    }

    // ---- Updates -------------------------------------------------------------------------------

    private Response updateConfiguration(String account, String region, FunctionRef ref, JsonNode request) {
        requireLatest(ref, "UpdateFunctionConfiguration");
        String newRole = request.hasNonNull("Role") ? role(account, text(request, "Role")) : null;
        String newRuntime = request.hasNonNull("Runtime") ? runtime(text(request, "Runtime")) : null;
        Map<String, String> newEnvironment = request.has("Environment") ? environment(request.get("Environment")) : null;
        String newDescription = request.has("Description") ? description(text(request, "Description")) : null;
        Integer newEphemeralStorage = ephemeralStorage(request);
        Instant now = now();
        ObjectNode result = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Version v = FunctionStore.version(c, account, ref.name(), FunctionStore.LATEST).orElseThrow(() -> notFound(region, account, ref));
            Lifecycle lifecycle = requireUpdatable(c, account, region, ref);
            checkRevision(request, v);
            VpcChoice vpc = request.has("VpcConfig") ? vpcConfig(c, account, request.get("VpcConfig"))
                    : new VpcChoice(v.subnetIds(), v.securityGroupIds(), v.vpcId());
            String runtime = newRuntime == null ? v.runtime() : newRuntime;
            String handler = request.hasNonNull("Handler") ? handler(runtime, text(request, "Handler")) : v.handler();
            Version updated = new Version(v.name(), v.version(), runtime, handler, newRole == null ? v.role() : newRole,
                    newDescription == null ? v.description() : newDescription, range(request, "Timeout", v.timeout(), 1, 900, "timeout"),
                    range(request, "MemorySize", v.memory(), 128, 10240, "memorySize"),
                    newEphemeralStorage == null ? v.ephemeralStorage() : newEphemeralStorage,
                    request.has("Environment") ? newEnvironment : v.environment(), v.codeSha256(), v.codeSize(), vpc.subnets(), vpc.groups(),
                    vpc.vpcId(), UUID.randomUUID().toString(), now);
            FunctionStore.updateVersion(c, account, updated);
            FunctionStore.startUpdate(c, account, ref.name(), now);
            return render(region, account, updated, FunctionStore.lifecycle(c, account, ref.name()).orElse(lifecycle));
        });
        changed.run();
        return new Response(200, write(result));
    }

    private Response updateCode(String account, String region, FunctionRef ref, JsonNode request) {
        requireLatest(ref, "UpdateFunctionCode");
        if (request.hasNonNull("S3Bucket") || request.hasNonNull("ImageUri")) {
            throw LambdaError.invalid("Only ZipFile code is supported here; S3 and container images are not.");
        }
        String zip = text(request, "ZipFile");
        if (zip == null) {
            throw LambdaError.invalid("Please provide a source for function code.");
        }
        Code code = zipCode(zip);
        boolean dryRun = request.path("DryRun").asBoolean(false);
        boolean publish = request.path("Publish").asBoolean(false);
        Instant now = now();
        ObjectNode result = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Version v = FunctionStore.version(c, account, ref.name(), FunctionStore.LATEST).orElseThrow(() -> notFound(region, account, ref));
            Lifecycle lifecycle = requireUpdatable(c, account, region, ref);
            checkRevision(request, v);
            Version updated = new Version(v.name(), v.version(), v.runtime(), v.handler(), v.role(), v.description(), v.timeout(), v.memory(),
                    v.ephemeralStorage(), v.environment(), code.sha256(), code.size(), v.subnetIds(), v.securityGroupIds(), v.vpcId(),
                    dryRun ? v.revisionId() : UUID.randomUUID().toString(), dryRun ? v.lastModified() : now);
            if (dryRun) {
                return render(region, account, updated, lifecycle);
            }
            FunctionStore.updateVersion(c, account, updated);
            FunctionStore.setCode(c, account, ref.name(), code.base64());
            if (publish && !lifecycle.updating() && FunctionStore.ACTIVE.equals(lifecycle.state())) {
                // The code change needs no new network: publish at once, as Lambda does with Publish=true.
                return render(region, account, publishVersion(c, account, ref.name(), updated), lifecycle);
            }
            FunctionStore.startUpdate(c, account, ref.name(), now);
            return render(region, account, updated, FunctionStore.lifecycle(c, account, ref.name()).orElseThrow());
        });
        changed.run();
        return new Response(200, write(result));
    }

    private static void requireLatest(FunctionRef ref, String operation) {
        if (ref.qualifier() != null && !ref.qualifier().equals(FunctionStore.LATEST)) {
            throw LambdaError.invalid(operation + " applies to $LATEST only; published versions are immutable.");
        }
    }

    private Lifecycle requireUpdatable(Connection c, String account, String region, FunctionRef ref) throws SQLException {
        Lifecycle lifecycle = FunctionStore.lifecycle(c, account, ref.name()).orElseThrow(() -> notFound(region, account, ref));
        if (lifecycle.updating() || FunctionStore.PENDING.equals(lifecycle.state())) {
            throw LambdaError.conflict("The operation cannot be performed at this time. An update is in progress for resource: "
                    + arn(region, account, ref.name()));
        }
        return lifecycle;
    }

    private static void checkRevision(JsonNode request, Version v) {
        String revision = text(request, "RevisionId");
        if (revision != null && !revision.equals(v.revisionId())) {
            throw new LambdaError("PreconditionFailedException", 412, "The Revision Id provided does not match the latest Revision Id. "
                    + "Call the GetFunction/GetAlias API to retrieve the latest Revision Id");
        }
    }

    // ---- Versions ------------------------------------------------------------------------------

    private Response publish(String account, String region, FunctionRef ref, JsonNode request) {
        ObjectNode result = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Version latest = FunctionStore.version(c, account, ref.name(), FunctionStore.LATEST).orElseThrow(() -> notFound(region, account, ref));
            Lifecycle lifecycle = requireUpdatable(c, account, region, ref);
            if (!FunctionStore.ACTIVE.equals(lifecycle.state())) {
                throw LambdaError.conflict("The operation cannot be performed at this time. The function is currently in the following state: "
                        + lifecycle.state());
            }
            String sha = text(request, "CodeSha256");
            if (sha != null && !sha.equals(latest.codeSha256())) {
                throw LambdaError.invalid("CodeSHA256 (" + sha + ") is different from current CodeSHA256 in $LATEST (" + latest.codeSha256()
                        + "). Please try again with the CodeSHA256 in $LATEST.");
            }
            checkRevision(request, latest);
            Version copy = publishVersion(c, account, ref.name(), request.hasNonNull("Description")
                    ? withDescription(latest, description(text(request, "Description"))) : latest);
            return render(region, account, copy, lifecycle);
        });
        changed.run();
        return new Response(201, write(result));
    }

    private static Version withDescription(Version v, String description) {
        return new Version(v.name(), v.version(), v.runtime(), v.handler(), v.role(), description, v.timeout(), v.memory(), v.ephemeralStorage(),
                v.environment(), v.codeSha256(), v.codeSize(), v.subnetIds(), v.securityGroupIds(), v.vpcId(), v.revisionId(), v.lastModified());
    }

    /** Copies $LATEST (as given) to the next version number, with the ENIs $LATEST runs on. */
    private Version publishVersion(Connection c, String account, String name, Version latest) throws SQLException {
        int number = (int) Sql.count(c, "SELECT next_version FROM functions WHERE account_id = ? AND name = ?", account, name);
        Sql.update(c, "UPDATE functions SET next_version = next_version + 1 WHERE account_id = ? AND name = ?", account, name);
        Version copy = new Version(name, Integer.toString(number), latest.runtime(), latest.handler(), latest.role(), latest.description(),
                latest.timeout(), latest.memory(), latest.ephemeralStorage(), latest.environment(), latest.codeSha256(), latest.codeSize(),
                latest.subnetIds(), latest.securityGroupIds(), latest.vpcId(), UUID.randomUUID().toString(), now());
        FunctionStore.putVersion(c, account, copy, FunctionStore.codeBase64(c, account, name, FunctionStore.LATEST));
        for (String eni : Sql.strings(c, "SELECT eni_id FROM function_enis WHERE account_id = ? AND function_name = ? AND version = ?",
                account, name, FunctionStore.LATEST)) {
            Sql.update(c, "INSERT INTO function_enis (account_id, function_name, version, eni_id) VALUES (?, ?, ?, ?)", account, name, copy.version(), eni);
        }
        return copy;
    }

    private Response delete(String account, String region, FunctionRef ref) {
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            FunctionStore.lifecycle(c, account, ref.name()).orElseThrow(() -> notFound(region, account, ref));
            if (ref.qualifier() == null) {
                FunctionStore.delete(c, account, ref.name());
                return null;
            }

            if (ref.qualifier().equals(FunctionStore.LATEST)) {
                throw LambdaError.invalid("$LATEST version cannot be deleted without deleting the function.");
            }
            if (Sql.update(c, "DELETE FROM function_versions WHERE account_id = ? AND function_name = ? AND version = ?",
                    account, ref.name(), ref.qualifier()) == 0) {
                throw notFound(region, account, ref);
            }
            Sql.update(c, "DELETE FROM function_enis WHERE account_id = ? AND function_name = ? AND version = ?", account, ref.name(), ref.qualifier());
            return null;
        });
        if (ref.qualifier() == null) {
            invoker.functionDeleted(account, ref.name());
        }
        changed.run();
        return new Response(204, null);
    }

    // ---- Concurrency ---------------------------------------------------------------------------

    private Response putConcurrency(String account, String region, FunctionRef ref, JsonNode request) {
        JsonNode value = request.get("ReservedConcurrentExecutions");
        if (value == null || !value.canConvertToInt()) {
            throw LambdaError.validation(String.valueOf(value), "reservedConcurrentExecutions", "Member must not be null");
        }
        int reserved = value.asInt();
        if (reserved < 0) {
            throw LambdaError.validation(Integer.toString(reserved), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0");
        }
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            FunctionStore.lifecycle(c, account, ref.name()).orElseThrow(() -> notFound(region, account, ref));
            long others = Sql.count(c, "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions WHERE account_id = ? AND name <> ?", account, ref.name());
            if (accountConcurrency - others - reserved < UNRESERVED_MINIMUM) {
                throw LambdaError.invalid("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its"
                        + " minimum value of [" + UNRESERVED_MINIMUM + "].");
            }
            Sql.update(c, "UPDATE functions SET reserved_concurrency = ? WHERE account_id = ? AND name = ?", reserved, account, ref.name());
            return null;
        });
        return new Response(200, write(NODES.objectNode().put("ReservedConcurrentExecutions", reserved)));
    }

    private Response getConcurrency(String account, String region, FunctionRef ref) {
        Integer reserved = db.inTransaction(c -> FunctionStore.lifecycle(c, account, ref.name())
                .orElseThrow(() -> notFound(region, account, ref)).reservedConcurrency());
        ObjectNode out = NODES.objectNode();
        if (reserved != null) {
            out.put("ReservedConcurrentExecutions", reserved);
        }
        return new Response(200, write(out));
    }

    private Response deleteConcurrency(String account, String region, FunctionRef ref) {
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            FunctionStore.lifecycle(c, account, ref.name()).orElseThrow(() -> notFound(region, account, ref));
            return Sql.update(c, "UPDATE functions SET reserved_concurrency = NULL WHERE account_id = ? AND name = ?", account, ref.name());
        });
        return new Response(204, null);
    }

    // ---- Invoke (state checks; running the code is the runtime's) -------------------------------

    private CompletableFuture<Response> invoke(String account, String region, FunctionRef ref, Map<String, String> headers, byte[] payload) {
        Lifecycle lifecycle = db.inTransaction(c -> {
            Accounts.lock(c, account);
            FunctionStore.version(c, account, ref.name(), ref.version()).orElseThrow(() -> notFound(region, account, ref));
            Lifecycle l = FunctionStore.lifecycle(c, account, ref.name()).orElseThrow();
            if (FunctionStore.INACTIVE.equals(l.state())) {
                // The first invoke of an idle function starts restoring its network, and fails.
                Timestamp now = Timestamp.from(now());
                Sql.update(c, "UPDATE functions SET state = ?, state_reason = ?, state_reason_code = ?, pending_since = ?, last_invoked_at = ?"
                        + " WHERE account_id = ? AND name = ?", FunctionStore.PENDING, "The function is being restored.", "Restoring", now, now,
                        account, ref.name());
            } else if (FunctionStore.ACTIVE.equals(l.state())) {
                Sql.update(c, "UPDATE functions SET last_invoked_at = ? WHERE account_id = ? AND name = ?", Timestamp.from(now()), account, ref.name());
            }
            return l;
        });
        switch (lifecycle.state()) {
            case FunctionStore.INACTIVE -> {
                changed.run();
                throw new LambdaError("ResourceNotReadyException", 502,
                        "The function is inactive and its VPC connection is no longer available. Please try again later.");
            }
            case FunctionStore.ACTIVE -> {
                return invoker.invoke(account, region, ref.name(), ref.version(), headers, payload);
            }
            default -> throw LambdaError.conflict("The operation cannot be performed at this time. The function is currently in the following state: "
                    + lifecycle.state());
        }
    }

    // ---- Rendering -----------------------------------------------------------------------------

    static String arn(String region, String account, String name) {
        return "arn:aws:lambda:" + region + ":" + account + ":function:" + name;
    }

    private static LambdaError notFound(String region, String account, FunctionRef ref) {
        return LambdaError.notFound(arn(region, account, ref.name()) + (ref.qualifier() == null ? "" : ":" + ref.qualifier()));
    }

    /** FunctionConfiguration, as Lambda renders it. */
    static ObjectNode render(String region, String account, Version v, Lifecycle lifecycle) {
        ObjectNode o = NODES.objectNode();
        o.put("FunctionName", v.name());
        o.put("FunctionArn", arn(region, account, v.name()) + (v.version().equals(FunctionStore.LATEST) ? "" : ":" + v.version()));
        o.put("Runtime", v.runtime());
        o.put("Role", v.role());
        if (v.handler() != null) {
            o.put("Handler", v.handler());
        }
        o.put("CodeSize", v.codeSize());
        o.put("Description", v.description());
        o.put("Timeout", v.timeout());
        o.put("MemorySize", v.memory());
        o.put("LastModified", LAST_MODIFIED.format(v.lastModified()));
        o.put("CodeSha256", v.codeSha256());
        o.put("Version", v.version());
        if (v.inVpc() || v.vpcId() != null) {
            ObjectNode vpc = o.putObject("VpcConfig");
            ArrayNode subnets = vpc.putArray("SubnetIds");
            v.subnetIds().forEach(subnets::add);
            ArrayNode groups = vpc.putArray("SecurityGroupIds");
            v.securityGroupIds().forEach(groups::add);
            vpc.put("VpcId", v.vpcId());
            vpc.put("Ipv6AllowedForDualStack", false);
        }
        if (v.environment() != null) {
            ObjectNode variables = o.putObject("Environment").putObject("Variables");
            v.environment().forEach(variables::put);
        }
        o.putObject("TracingConfig").put("Mode", "PassThrough");
        o.put("RevisionId", v.revisionId());
        o.put("State", lifecycle.state());
        if (lifecycle.stateReason() != null) {
            o.put("StateReason", lifecycle.stateReason());
        }
        if (lifecycle.stateReasonCode() != null) {
            o.put("StateReasonCode", lifecycle.stateReasonCode());
        }
        boolean latest = v.version().equals(FunctionStore.LATEST);
        o.put("LastUpdateStatus", latest ? lifecycle.lastUpdateStatus() : FunctionStore.SUCCESSFUL);
        if (latest && lifecycle.lastUpdateReason() != null) {
            o.put("LastUpdateStatusReason", lifecycle.lastUpdateReason());
        }
        if (latest && lifecycle.lastUpdateReasonCode() != null) {
            o.put("LastUpdateStatusReasonCode", lifecycle.lastUpdateReasonCode());
        }
        o.put("PackageType", "Zip");
        o.putArray("Architectures").add("x86_64");
        o.putObject("EphemeralStorage").put("Size", v.ephemeralStorage());
        o.putObject("SnapStart").put("ApplyOn", "None").put("OptimizationStatus", "Off");
        o.putObject("LoggingConfig").put("LogFormat", "Text").put("LogGroup", "/aws/lambda/" + v.name());
        return o;
    }

    // ---- JSON helpers --------------------------------------------------------------------------

    private static JsonNode object(byte[] body) {
        if (body == null || body.length == 0) {
            return NODES.objectNode();
        }
        try {
            JsonNode node = JSON.readTree(body);
            if (node == null || !node.isObject()) {
                throw new LambdaError("SerializationException", 400, "The request body must be a JSON object.");
            }
            return node;
        } catch (IOException e) {
            throw new LambdaError("SerializationException", 400, "The request body is not valid JSON: " + e.getMessage());
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static List<String> strings(JsonNode array, String member) {
        if (array == null || array.isNull()) {
            return List.of();
        }
        if (!array.isArray()) {
            throw new LambdaError("SerializationException", 400, member + " must be a list of strings.");
        }
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static int range(JsonNode request, String field, int otherwise, int min, int max, String member) {
        JsonNode value = request.get(field);
        if (value == null || value.isNull()) {
            return otherwise;
        }
        if (!value.canConvertToInt() || value.asInt() < min || value.asInt() > max) {
            throw LambdaError.validation(value.asText(), member, value.canConvertToInt() && value.asInt() < min
                    ? "Member must have value greater than or equal to " + min : "Member must have value less than or equal to " + max);
        }
        return value.asInt();
    }

    private static int intParameter(String value, String member, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n < min || n > max) {
                throw LambdaError.validation(value, member, "Member must have value between " + min + " and " + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw LambdaError.validation(value, member, "Member must be a number");
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
