package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.config.fleet.FleetError;
import io.hyperplane.config.fleet.FleetJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The worker's HTTP endpoints, on loopback:
 * <ul>
 *   <li>{@code POST /invoke} (bearer token) {@code InvokeRequest}: run this invocation, answered with its
 *       {@code InvocationEnd} when it is done;</li>
 *   <li>{@code POST /evict} (bearer token) {@code Eviction}: the function was deleted, its environments go
 *       (busy ones when done); answered with {@code Evicted};</li>
 *   <li>{@code GET /metrics}: counts and cold-start phases ({@link WorkerMetrics}).</li>
 * </ul>
 * The first two speak the fleet's messages ({@code io.hyperplane.config.fleet}), which {@link WorkerWire} maps.
 * Refusals are a {@link FleetError}: 401 without the control plane's token, 400 for a body that is not the
 * message the endpoint takes (saying what is wrong), 405 for an invoke that is not a POST, 500 when running
 * it failed in the worker.
 */
final class WorkerEndpoints implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerEndpoints.class);
    /** Connections the kernel queues before the server accepts them: a burst of cold starts' invokes arrives at once. */
    private static final int BACKLOG = 64;

    /** What the endpoints do. */
    interface Handler {
        InvocationEnd invoke(FunctionCall call) throws InterruptedException;

        /** Ends the idle environments of the function whose keys start with {@code functionPrefix}; returns how many. */
        int evict(String functionPrefix);

        JsonNode metrics();
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final URI url;
    private final byte[] authorization;

    private WorkerEndpoints(HttpServer server, String token) {
        this.server = server;
        this.url = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        this.authorization = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        // Platform threads, not virtual ones: a cold start waits on the control stream and process
        // pipes, and a virtual thread resumes only when one of the few carrier threads is free,
        // which on a busy machine costs its network attach milliseconds.
        this.executor = Executors.newCachedThreadPool(r -> Thread.ofPlatform().name("hp-worker-invoke").daemon().unstarted(r));
        server.setExecutor(executor);
    }

    /** Binds a port on 127.0.0.1 (its URL is known from now on) without serving yet; {@code token} is the control plane's. */
    static WorkerEndpoints bind(String token) throws IOException {
        return new WorkerEndpoints(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), BACKLOG), token);
    }

    URI url() {
        return url;
    }

    /** Starts serving through {@code handler}. */
    void start(Handler handler) {
        server.createContext("/invoke", exchange -> serveInvoke(exchange, handler));
        server.createContext("/metrics", exchange -> serveMetrics(exchange, handler));
        server.createContext("/evict", exchange -> serveEvict(exchange, handler));
        server.start();
    }

    private void serveInvoke(HttpExchange exchange, Handler handler) throws IOException {
        try (exchange) {
            if (!authorized(exchange)) {
                return;
            }
            if (!exchange.getRequestMethod().equals("POST")) {
                send(exchange, 405, FleetError.of("POST only"));
                return;
            }
            try {
                FunctionCall call;
                try {
                    call = WorkerWire.readInvoke(exchange.getRequestBody().readAllBytes());
                } catch (IllegalArgumentException e) {
                    send(exchange, 400, FleetError.of(e.getMessage()));
                    return;
                }
                send(exchange, 200, WorkerWire.writeResult(handler.invoke(call)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                // Answered before the exchange closes: a closed exchange would only drop the connection.
                LOG.error("invocation failed", e);
                send(exchange, 500, FleetError.of(String.valueOf(e.getMessage())));
            }
        }
    }

    private void serveEvict(HttpExchange exchange, Handler handler) throws IOException {
        try (exchange) {
            if (!authorized(exchange)) {
                return;
            }
            String functionPrefix;
            try {
                functionPrefix = WorkerWire.readEvictedFunction(exchange.getRequestBody().readAllBytes());
            } catch (IllegalArgumentException e) {
                send(exchange, 400, FleetError.of(e.getMessage()));
                return;
            }
            send(exchange, 200, WorkerWire.writeEvicted(handler.evict(functionPrefix)));
        }
    }

    private static void serveMetrics(HttpExchange exchange, Handler handler) throws IOException {
        try (exchange) {
            send(exchange, 200, handler.metrics().toString());
        }
    }

    /** The control plane's bearer token, or a 401 answered here. */
    private boolean authorized(HttpExchange exchange) throws IOException {
        String auth = exchange.getRequestHeaders().getFirst("Authorization");
        if (auth != null && MessageDigest.isEqual(auth.getBytes(StandardCharsets.UTF_8), authorization)) {
            return true;
        }
        send(exchange, 401, FleetError.of("missing or wrong bearer token"));
        return false;
    }

    /** A fleet message: the control plane's to read. */
    private static void send(HttpExchange exchange, int status, Object message) throws IOException {
        send(exchange, status, FleetJson.encode(message));
    }

    private static void send(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Stops serving at once; invocations still running finish on their threads, their answers going nowhere. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdown();
    }
}
