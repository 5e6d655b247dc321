package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.lambda.EventInvokeConfigStore.Row;
import io.hyperplane.control.lambda.LambdaApi.Call;
import io.hyperplane.control.lambda.LambdaApi.Operation;
import io.hyperplane.control.lambda.LambdaApi.Response;
import io.hyperplane.control.store.Database;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Handler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A function's asynchronous invocation settings, the Lambda API 2019-09-25:
 * <pre>
 *   PUT    /2019-09-25/functions/{function}/event-invoke-config        PutFunctionEventInvokeConfig
 *   POST   /2019-09-25/functions/{function}/event-invoke-config        UpdateFunctionEventInvokeConfig
 *   GET    /2019-09-25/functions/{function}/event-invoke-config        GetFunctionEventInvokeConfig
 *   DELETE /2019-09-25/functions/{function}/event-invoke-config        DeleteFunctionEventInvokeConfig
 *   GET    /2019-09-25/functions/{function}/event-invoke-config/list   ListFunctionEventInvokeConfigs
 * </pre>
 * One configuration per qualifier: $LATEST (an unqualified name) or a published version; there are
 * no aliases, so any other qualifier names no function. Put replaces the whole configuration,
 * Update merges into an existing one. A destination is another Lambda function of the caller's
 * account and region; the event queue delivers to it. Destination types this system has no service
 * for (SQS, SNS, EventBridge, S3) are refused, never stored and ignored. Each call is one
 * transaction; the writes hold the account's lock, as {@link LambdaApi}'s do.
 */
final class EventInvokeConfigApi {
    private static final String CONFIG = "/2019-09-25/functions/{function}/event-invoke-config";
    /** The API model's MaxFunctionEventInvokeConfigListItems: at most 50, not ListFunctions' 10,000. */
    private static final LambdaConstraints.Range LIST_ITEMS = new LambdaConstraints.Range(1, 50, "maxItems");
    private static final Pattern NUMBER = Pattern.compile("-?\\d{1,9}");
    private static final Pattern FUNCTION_ARN = Pattern.compile(
            "arn:(aws[a-zA-Z-]*):lambda:([a-z0-9-]+):(\\d{12}):function:([a-zA-Z0-9_-]{1,64})(?::(\\$LATEST|[a-zA-Z0-9_-]{1,128}))?");
    /** Lambda's other destination types (AWS Lambda developer guide, "Adding a destination"), by the ARN's service. */
    private static final Map<String, String> SERVICES_WITHOUT_DESTINATIONS = Map.of("sqs", "Amazon SQS queues", "sns", "Amazon SNS topics",
            "events", "Amazon EventBridge event buses", "s3", "Amazon S3 buckets");

    private final Database db;
    private final Clock clock;

    EventInvokeConfigApi(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    /** The routes; {@code route} makes each operation a handler as {@link LambdaApi} does its own. */
    void addRoutes(RoutesConfig routes, Function<Operation, Handler> route) {
        routes.put(CONFIG, route.apply(call -> done(put(call))));
        routes.post(CONFIG, route.apply(call -> done(update(call))));
        routes.get(CONFIG, route.apply(call -> done(get(call))));
        routes.delete(CONFIG, route.apply(call -> done(delete(call))));
        routes.get(CONFIG + "/list", route.apply(call -> done(list(call))));
    }

    private static CompletableFuture<Response> done(Response response) {
        return CompletableFuture.completedFuture(response);
    }

    private static Response json(ObjectNode body) {
        return new Response(200, LambdaRenderer.write(body));
    }

    /** The function the path names, with the Qualifier parameter, as every Lambda route reads it. */
    private static FunctionRef ref(Call call) {
        return FunctionRef.parse(call.pathParams().get("function"), call.query().get("Qualifier"), call.account());
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    // ---- Put / Update ----------------------------------------------------------------------------

    private Response put(Call call) {
        FunctionRef ref = ref(call);
        EventInvokeConfigRequest request = EventInvokeConfigRequest.from(JsonFields.object(call.body()));
        return json(db.inTransaction(c -> {
            Accounts.lock(c, call.account());
            requireVersion(c, call, ref);
            checkDestinations(c, call, ref, request);
            Row row = request.replacing(ref.version(), now());
            EventInvokeConfigStore.put(c, call.account(), ref.name(), row);
            return EventInvokeConfigRenderer.config(call.region(), call.account(), ref.name(), row);
        }));
    }

    private Response update(Call call) {
        FunctionRef ref = ref(call);
        EventInvokeConfigRequest request = EventInvokeConfigRequest.from(JsonFields.object(call.body()));
        return json(db.inTransaction(c -> {
            Accounts.lock(c, call.account());
            requireVersion(c, call, ref);
            if (EventInvokeConfigStore.get(c, call.account(), ref.name(), ref.version()).isEmpty()) {
                throw noConfig(call, ref);
            }
            checkDestinations(c, call, ref, request);
            Row row = EventInvokeConfigStore.update(c, call.account(), ref.name(), ref.version(), existing -> request.mergedInto(existing, now()))
                    .orElseThrow();
            return EventInvokeConfigRenderer.config(call.region(), call.account(), ref.name(), row);
        }));
    }

    /** Put and Update configure a version that exists: $LATEST or a published number (an alias names nothing here). */
    private static void requireVersion(Connection c, Call call, FunctionRef ref) throws SQLException {
        if (VersionStore.get(c, call.account(), ref.name(), ref.version()).isEmpty()) {
            throw functionNotFound();
        }
    }

    private static void checkDestinations(Connection c, Call call, FunctionRef ref, EventInvokeConfigRequest request) throws SQLException {
        for (String destination : new String[] {request.onSuccess(), request.onFailure()}) {
            if (destination != null) {
                checkDestination(c, call, ref, request, destination);
            }
        }
    }

    /** Whether this system can deliver an invocation record to {@code arn}, one rule per refusal. */
    private static void checkDestination(Connection c, Call call, FunctionRef ref, EventInvokeConfigRequest request, String arn)
            throws SQLException {
        String[] parts = arn.split(":", -1);
        String service = parts[0].equals("arn") ? parts[2] : "";
        // Lambda's other destination types: a service on AWS, none here. Accepting one would drop its records.
        String kind = SERVICES_WITHOUT_DESTINATIONS.get(service);
        if (kind != null) {
            throw LambdaError.invalid("The destination ARN " + arn + " is not supported: Hyperplane has no " + kind
                    + ". Only Lambda functions can be destinations.");
        }
        // No destination type at all (another service, or a Kafka URI, which only event source mappings take): Lambda's answer.
        if (!service.equals("lambda")) {
            throw LambdaError.invalid("The provided destination config " + request.describeDestinations() + " is invalid.");
        }
        Matcher function = FUNCTION_ARN.matcher(arn);
        // A Lambda ARN that is no function's (a layer, an event source mapping): Lambda's answer for a function that does not exist.
        if (!function.matches()) {
            throw invalidDestination(arn);
        }
        // Another account's or region's function: Lambda allows one that a resource-based policy opens to the caller;
        // this system has no such policies, and the queue delivers within the account.
        if (!function.group(1).equals("aws") || !function.group(2).equals(call.region()) || !function.group(3).equals(call.account())) {
            throw LambdaError.invalid("The destination ARN " + arn + " is not supported: only functions in the caller's account and region ("
                    + call.account() + ", " + call.region() + ") can be destinations.");
        }
        // The function itself, any version: Lambda refuses the loop.
        if (function.group(4).equals(ref.name())) {
            throw LambdaError.invalid("You can't specify the function as a destination for itself.");
        }
        // A function, or a version of it, that does not exist.
        String version = function.group(5) == null ? FunctionStore.LATEST : function.group(5);
        if (VersionStore.get(c, call.account(), function.group(4), version).isEmpty()) {
            throw invalidDestination(arn);
        }
    }

    private static LambdaError invalidDestination(String arn) {
        return LambdaError.invalid("The destination ARN " + arn + " is invalid.");
    }

    // ---- Get / Delete / List ---------------------------------------------------------------------

    private Response get(Call call) {
        FunctionRef ref = ref(call);
        return json(db.inTransaction(c -> {
            Row row = EventInvokeConfigStore.get(c, call.account(), ref.name(), ref.version()).orElseThrow(() -> noConfig(call, ref));
            return EventInvokeConfigRenderer.config(call.region(), call.account(), ref.name(), row);
        }));
    }

    private Response delete(Call call) {
        FunctionRef ref = ref(call);
        db.inTransaction(c -> {
            Accounts.lock(c, call.account());
            if (!EventInvokeConfigStore.delete(c, call.account(), ref.name(), ref.version())) {
                throw noConfig(call, ref);
            }
            return null;
        });
        return new Response(204, null);
    }

    private Response list(Call call) {
        FunctionRef ref = ref(call);
        String maxItems = call.query().get("MaxItems");
        if (maxItems != null && NUMBER.matcher(maxItems).matches()) {
            LIST_ITEMS.check(Integer.valueOf(maxItems));
        }
        ListRequest request = ListRequest.from(call.query()); // a MaxItems that is no number, and the Marker
        return json(db.inTransaction(c -> {
            if (!FunctionStore.exists(c, call.account(), ref.name())) {
                throw functionNotFound();
            }
            List<ObjectNode> items = new ArrayList<>();
            for (Row row : EventInvokeConfigStore.list(c, call.account(), ref.name())) {
                items.add(EventInvokeConfigRenderer.config(call.region(), call.account(), ref.name(), row));
            }
            return LambdaRenderer.page(items, request, "FunctionEventInvokeConfigs");
        }));
    }

    /** Put, Update and List of a function or version that does not exist: Lambda's words. */
    private static LambdaError functionNotFound() {
        return new LambdaError("ResourceNotFoundException", 404, "The function doesn't exist.");
    }

    /** Get, Delete and Update of a qualifier without a configuration (or of no function at all): Lambda's words. */
    private static LambdaError noConfig(Call call, FunctionRef ref) {
        return new LambdaError("ResourceNotFoundException", 404, "The function " + LambdaApi.arn(call.region(), call.account(), ref.name()) + ":"
                + ref.version() + " doesn't have an EventInvokeConfig");
    }
}
