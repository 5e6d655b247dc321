package io.hyperplane.control.fleet;

import io.hyperplane.config.ConfigStreamMessage;
import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.fleet.EnvironmentRegistered;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.RegistrationAnswer;
import io.hyperplane.config.fleet.RegistrationRequest;
import io.hyperplane.control.nodes.NodeConfigPublisher;
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

import java.util.Map;
import java.util.OptionalLong;
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
 *   WS /hyperplane/v1/workers/NAME/stream          a worker's requests (config.fleet's RegistrationRequest),
 *        answered in any order by id (RegistrationAnswer): 201 registered, or 400|500|504 refused;
 *        a message whose id cannot be read closes the socket
 * </pre>
 * An HTTP request costs each side several thread hand-offs (the JDK client's selector and executor,
 * Jetty's dispatch); a message on an open WebSocket costs one. Registering an environment and
 * having every node run it is four messages this way: request, delta, acknowledgement, answer.
 */
public final class FleetStreams implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetStreams.class);
    private static final int BAD_REQUEST = 400;
    private static final int STORE_FAILED = 500;
    private static final int NODES_BEHIND = 504;
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

    public FleetStreams(NodeEndpoints endpoints, NodeConfigPublisher publisher, NodeRegistry registry) {
        this.endpoints = endpoints;
        this.publisher = publisher;
        this.registry = registry;
    }

    public void addRoutes(RoutesConfig routes) {
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
        String text = ctx.message();
        RegistrationRequest request;
        try {
            request = FleetJson.decode(text, RegistrationRequest.class);
        } catch (IllegalArgumentException e) {
            // A request that can be answered is, with 400; one without an id is outside the protocol.
            OptionalLong id = RegistrationRequest.idOf(text);
            if (id.isPresent()) {
                reply(ctx, new RegistrationAnswer.Refused(id.getAsLong(), BAD_REQUEST, e.getMessage()));
            } else {
                ctx.closeSession(WsCloseStatus.POLICY_VIOLATION, "expected {\"id\":N,\"register\":{...}}");
            }
            return;
        }
        long id = request.id();
        registrations.execute(() -> {
            EnvironmentRegistered registered;
            try {
                registered = endpoints.registerEnvironment(request.register());
            } catch (IllegalArgumentException e) {
                reply(ctx, new RegistrationAnswer.Refused(id, BAD_REQUEST, e.getMessage()));
                return;
            } catch (StoreException | IllegalStateException | CompletionException e) { // the last: no version for it
                LOG.warn("registering an execution environment failed: {}", e.getMessage());
                reply(ctx, new RegistrationAnswer.Refused(id, STORE_FAILED, String.valueOf(e.getMessage())));
                return;
            }
            RegistrationAnswer ok = new RegistrationAnswer.Registered(id, registered);
            if (!request.waitForNodes()) {
                reply(ctx, ok);
                return;
            }
            endpoints.whenNodesApplied(registered.id(), registered.configVersion())
                    .thenAccept(failure -> reply(ctx, failure == null ? ok : new RegistrationAnswer.Refused(id, NODES_BEHIND, failure)));
        });
    }

    private static void reply(WsContext ctx, RegistrationAnswer answer) {
        synchronized (ctx.session) {
            ctx.send(FleetJson.encode(answer));
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
