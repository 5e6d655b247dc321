package io.hyperplane.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The control plane's side of the node contract ({@link ControlPlaneApi}) on 127.0.0.1, in the
 * spirit of OkHttp's MockWebServer: it serves whatever config the test set, holds long polls
 * until that changes, checks the bearer token, and records every request. {@link #stop()} and
 * {@link #restart()} take it down and bring it back on the same port, as a control plane restart.
 */
final class FakeControlPlane implements AutoCloseable {
    private static final Pattern CONFIG = Pattern.compile("/hyperplane/v1/nodes/([^/]+)/config");
    private static final Pattern NODE = Pattern.compile("/hyperplane/v1/nodes/([^/]+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One request as received: method, node name, query parameters (config only) or body (PUT). */
    record Request(String method, String node, Map<String, String> query, JsonNode body) {
        long after() {
            return Long.parseLong(query.get("after"));
        }
    }

    private final Object lock = new Object();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Request> refused = new CopyOnWriteArrayList<>();
    private int port;
    private HttpServer server;
    private ExecutorService executor;
    private volatile String token = "secret";
    private long version = -1; // guarded by lock, as is body
    private String body;
    private boolean running;

    static FakeControlPlane start() throws IOException {
        FakeControlPlane fake = new FakeControlPlane();
        fake.listen(0);
        return fake;
    }

    private void listen(int onPort) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", onPort), 16);
        executor = Executors.newCachedThreadPool(r -> Thread.ofPlatform().daemon().name("fake-control-plane").unstarted(r));
        server.setExecutor(executor);
        server.createContext("/hyperplane/v1/nodes/", this::handle);
        synchronized (lock) {
            running = true;
        }
        server.start();
        port = server.getAddress().getPort();
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** Takes the server down: open connections are closed, new ones refused. */
    void stop() {
        synchronized (lock) {
            running = false;
            lock.notifyAll();
        }
        server.stop(0);
        executor.shutdownNow();
    }

    /** Brings the server back on the same port. */
    void restart() throws IOException {
        listen(port);
    }

    @Override
    public void close() {
        stop();
    }

    void serve(NodeSnapshot snapshot) {
        serveRaw(snapshot.version(), SnapshotJson.write(snapshot));
    }

    /** Serves {@code body} as version {@code v} whatever it holds: for invalid snapshots. */
    void serveRaw(long v, String text) {
        synchronized (lock) {
            version = v;
            body = text;
            lock.notifyAll();
        }
    }

    void requireToken(String expected) {
        token = expected;
    }

    /** Accepted requests, oldest first. */
    List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Requests refused with 401. */
    List<Request> refused() {
        return List.copyOf(refused);
    }

    List<Request> heartbeats() {
        return requests().stream().filter(r -> r.method().equals("PUT")).toList();
    }

    JsonNode lastHeartbeat() {
        List<Request> beats = heartbeats();
        return beats.isEmpty() ? null : beats.getLast().body();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            Matcher config = CONFIG.matcher(path);
            Matcher node = NODE.matcher(path);
            String method = exchange.getRequestMethod();
            Request request;
            if (config.matches() && method.equals("GET")) {
                request = new Request(method, config.group(1), query(exchange.getRequestURI()), null);
            } else if (node.matches() && (method.equals("PUT") || method.equals("DELETE"))) {
                byte[] sent = exchange.getRequestBody().readAllBytes();
                request = new Request(method, node.group(1), Map.of(), sent.length == 0 ? null : JSON.readTree(sent));
            } else {
                respond(exchange, 404, "no route for " + method + " " + path);
                return;
            }
            if (!("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                refused.add(request);
                respond(exchange, 401, "{\"error\":\"bad token\"}");
                return;
            }
            requests.add(request);
            if (request.method().equals("GET")) {
                longPoll(exchange, request);
            } else {
                respond(exchange, 200, "{}");
            }
        }
    }

    private void longPoll(HttpExchange exchange, Request request) throws IOException {
        long after = request.after();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(request.query().get("waitSeconds")));
        long servedVersion;
        String servedBody;
        synchronized (lock) {
            try {
                long left;
                while (running && version <= after && (left = deadline - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            servedVersion = version;
            servedBody = body;
        }
        if (servedVersion <= after) {
            exchange.sendResponseHeaders(304, -1);
            return;
        }
        exchange.getResponseHeaders().set("X-Hyperplane-Config-Version", Long.toString(servedVersion));
        respond(exchange, 200, servedBody);
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> out = new HashMap<>();
        for (String pair : uri.getRawQuery() == null ? new String[0] : uri.getRawQuery().split("&")) {
            int eq = pair.indexOf('=');
            out.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return out;
    }

    private static void respond(HttpExchange exchange, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
