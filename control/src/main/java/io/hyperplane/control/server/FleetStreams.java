package io.hyperplane.control.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.config.ConfigStreamMessage;
import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.control.nodes.NodeConfigPublisher;
import io.hyperplane.control.nodes.NodeRegistry;
import io.hyperplane.control.store.StoreException;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.UnauthorizedResponse;
import io.javalin.http.BadRequestResponse;
import io.javalin.websocket.WsCloseStatus;
import io.javalin.websocket.WsContext;
import io.javalin.websocket.WsMessageContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The fleet's WebSockets, the fast path of a cold start's network attach (same bearer token and
 * port as {@link NodeEndpoints}; the HTTP endpoints stay, as the fallback):
 * <pre>
 *   WS /hyperplane/v1/nodes/NAME/stream?after=V    a node's configuration stream ({@link ConfigStreamMessage}):
 *        every version as published, as an environments delta when the node has the delta's base;
 *        the node acknowledges each one once its forwarding thread runs it
 *   WS /hyperplane/v1/workers/NAME/stream          a worker's requests, answered in any order by id:
 *        {"id":N,"register":{"id","hostIp","ip","mac","eniId"},"waitForNodes":true}
 *        -> {"id":N,"status":201,"vni":..,"configVersion":..} | {"id":N,"status":400|500|504,"message":".."}
 * </pre>
 * An HTTP request costs each side several thread hand-offs (the JDK client's selector and executor,
 * Jetty's dispatch); a message on an open WebSocket costs one. Registering an environment and
 * having every node run it is four messages this way: request, delta, acknowledgement, answer.
 */
final class FleetStreams implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetStreams.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NODE_STREAM = "/hyperplane/v1/nodes/{name}/stream";
    private static final String WORKER_STREAM = "/hyperplane/v1/workers/{name}/stream";

    private final NodeEndpoints endpoints;
    private final NodeConfigPublisher publisher;
    private final NodeRegistry registry;
    private final Map<String, NodeStream> nodeStreams = new ConcurrentHashMap<>();
    /**
     * Registrations commit to the store: off the WebSocket's thread, so one worker's burst is not
     * serialised behind it; on platform threads, which resume as soon as they are woken (a virtual
     * thread waits for a free carrier, milliseconds on a busy machine).
     */
    private final ExecutorService registrations = Executors.newCachedThreadPool(Thread.ofPlatform().name("hp-ee-register-", 0).daemon().factory());

    FleetStreams(NodeEndpoints endpoints, NodeConfigPublisher publisher, NodeRegistry registry) {
        this.endpoints = endpoints;
        this.publisher = publisher;
        this.registry = registry;
    }

    void addRoutes(RoutesConfig routes) {
        routes.wsBeforeUpgrade(NODE_STREAM, this::authorize);
        routes.wsBeforeUpgrade(WORKER_STREAM, this::authorize);
        routes.ws(NODE_STREAM, ws -> {
            ws.onConnect(this::nodeConnected);
            ws.onMessage(this::nodeMessage);
            ws.onClose(ctx -> nodeGone(ctx));
            ws.onError(ctx -> nodeGone(ctx));
        });
        routes.ws(WORKER_STREAM, ws -> {
            ws.onConnect(ctx -> ctx.enableAutomaticPings(15, TimeUnit.SECONDS));
            ws.onMessage(this::workerMessage);
        });
    }

    /** Before the upgrade, as for every fleet endpoint: the bearer token and a valid name, else no WebSocket. */
    private void authorize(Context ctx) {
        if (!endpoints.authorizes(ctx.header("Authorization"))) {
            throw new UnauthorizedResponse("missing or wrong bearer token (see the server's data directory: node-token)");
        }
        if (!NodeEndpoints.NAME.matcher(ctx.pathParam("name")).matches()) {
            throw new BadRequestResponse("name '" + ctx.pathParam("name") + "': use 1-64 letters, digits, '.', '_' or '-'");
        }
        String after = ctx.queryParam("after");
        if (after != null && !after.matches("-?[0-9]{1,19}")) {
            throw new BadRequestResponse("after '" + after + "': expected a version number");
        }
    }

    private void nodeConnected(WsContext ctx) {
        String after = ctx.queryParam("after");
        NodeStream stream = new NodeStream(ctx.pathParam("name"), ctx, after == null ? -1 : Long.parseLong(after));
        nodeStreams.put(ctx.sessionId(), stream);
        ctx.enableAutomaticPings(15, TimeUnit.SECONDS);
        registry.stream(stream.name, 1);
        publisher.subscribe(stream, stream.sent);
        LOG.info("node {} opened its configuration stream (it runs version {})", stream.name, after == null ? "none" : after);
    }

    private void nodeMessage(WsMessageContext ctx) {
        NodeStream stream = nodeStreams.get(ctx.sessionId());
        ConfigStreamMessage message;
        try {
            message = ConfigStreamMessage.parse(ctx.message());
        } catch (IllegalArgumentException e) {
            LOG.warn("node stream: closing on a bad message: {}", e.getMessage());
            ctx.closeSession(WsCloseStatus.POLICY_VIOLATION, e.getMessage());
            return;
        }
        if (!(message instanceof ConfigStreamMessage.Applied applied)) {
            ctx.closeSession(WsCloseStatus.POLICY_VIOLATION, "a node sends only applied messages");
            return;
        }
        if (stream != null) {
            registry.polled(stream.name, applied.version());
        }
    }

    private void nodeGone(WsContext ctx) {
        NodeStream stream = nodeStreams.remove(ctx.sessionId());
        if (stream != null) {
            publisher.unsubscribe(stream);
            registry.stream(stream.name, -1);
            LOG.info("node {} closed its configuration stream", stream.name);
        }
    }

    private void workerMessage(WsMessageContext ctx) {
        JsonNode request;
        try {
            request = JSON.readTree(ctx.message());
        } catch (IOException e) {
            ctx.closeSession(WsCloseStatus.POLICY_VIOLATION, "expected JSON requests");
            return;
        }
        if (request == null || !request.path("id").canConvertToLong() || !request.has("register")) {
            ctx.closeSession(WsCloseStatus.POLICY_VIOLATION, "expected {\"id\":N,\"register\":{...}}");
            return;
        }
        long id = request.path("id").asLong();
        boolean wait = request.path("waitForNodes").asBoolean(false);
        registrations.execute(() -> {
            NodeEndpoints.Registered registered;
            try {
                registered = endpoints.registerEnvironment(request.path("register"));
            } catch (IllegalArgumentException e) {
                reply(ctx, answer(id, 400).put("message", e.getMessage()));
                return;
            } catch (StoreException | IllegalStateException | CompletionException e) { // the last: no version for it
                LOG.warn("registering an execution environment failed: {}", e.getMessage());
                reply(ctx, answer(id, 500).put("message", e.getMessage()));
                return;
            }
            ObjectNode ok = answer(id, 201).put("vni", registered.vni()).put("configVersion", registered.configVersion());
            if (!wait) {
                reply(ctx, ok);
                return;
            }
            endpoints.whenNodesApplied(registered.id(), registered.configVersion())
                    .thenAccept(failure -> reply(ctx, failure == null ? ok : answer(id, 504).put("message", failure)));
        });
    }

    private static ObjectNode answer(long id, int status) {
        return JSON.createObjectNode().put("id", id).put("status", status);
    }

    private static void reply(WsContext ctx, ObjectNode answer) {
        synchronized (ctx.session) {
            ctx.send(answer.toString());
        }
    }

    @Override
    public void close() {
        registrations.shutdownNow();
        nodeStreams.values().forEach(publisher::unsubscribe);
        nodeStreams.clear();
    }

    /** One node's stream: what it was last sent decides whether the next version can go as a delta. */
    private static final class NodeStream implements NodeConfigPublisher.Subscriber {
        private final String name;
        private final WsContext ctx;
        private long sent;

        NodeStream(String name, WsContext ctx, long after) {
            this.name = name;
            this.ctx = ctx;
            this.sent = after;
        }

        @Override
        public synchronized void publish(NodeConfigPublisher.Published version) {
            EnvironmentsDelta delta = version.delta();
            String message = delta != null && delta.base() == sent
                    ? ConfigStreamMessage.environments(delta) : ConfigStreamMessage.snapshot(version.json());
            sent = version.version();
            try {
                synchronized (ctx.session) {
                    ctx.send(message);
                }
            } catch (RuntimeException e) { // a socket closing meanwhile: the node reopens and gets the whole version
                LOG.debug("node {}: version {} not sent: {}", name, version.version(), e.getMessage());
            }
        }
    }
}
