package io.hyperplane.node;

import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.config.fleet.NodeHeartbeatAnswer;
import io.hyperplane.config.fleet.NodeHeartbeat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.time.Duration;

/**
 * The node's side of the control plane's HTTP contract. Every request carries
 * {@code Authorization: Bearer <token>}; {@code N} is the node's name.
 * <pre>
 *   GET    /hyperplane/v1/nodes/N/config?after=V&amp;waitSeconds=W   (V = -1: the node has nothing)
 *            200  a NodeSnapshot (SnapshotJson's format) newer than V,
 *                 header X-Hyperplane-Config-Version = its version
 *            304  nothing newer within W seconds: ask again
 *   PUT    /hyperplane/v1/nodes/N     heartbeat and registration, about once a second ({@link NodeHeartbeat})
 *            {"underlayIp":"198.18.0.1","port":4789,"appliedVersion":7,"incarnation":"5f0c...",
 *             "enis":[{"id":"eni-…","ip":"10.0.1.4","flows":12,"natPorts":12}]}
 *            (appliedVersion never lowers the version a node acknowledged within one incarnation)
 *            200  (body ignored)
 *   DELETE /hyperplane/v1/nodes/N     the node leaves (clean shutdown): stop tunnelling to it
 *   WS     /hyperplane/v1/nodes/N/stream?after=V   the configuration stream (ConfigStreamMessage):
 *            every version as published, environments-only changes as deltas; the node
 *            acknowledges each version it runs. Preferred to the long poll when the control plane has it.
 *   any    401  the token is wrong ({@link Unauthorized})
 * </pre>
 * Any other status, and every transport failure, is an {@link IOException} that names the request.
 * Stateless apart from the token; safe for several threads (HttpClient is).
 */
final class ControlPlaneApi {
    static final String VERSION_HEADER = "X-Hyperplane-Config-Version";
    /** The long poll's answer may take waitSeconds; this much more covers a slow control plane and the network. */
    private static final Duration POLL_MARGIN = Duration.ofSeconds(10);
    /** A heartbeat that takes longer is stale anyway; the next one carries fresher numbers. */
    private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration STREAM_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final int OK = 200;
    private static final int NOT_MODIFIED = 304;
    private static final int UNAUTHORIZED = 401;

    private final HttpClient http;
    private final HttpClient streamHttp;
    private final String nodeUrl;
    private final BearerToken token;

    /**
     * {@code streamHttp} carries only the configuration stream; its executor may be the selector
     * thread itself (a message is then handled without a hand-off).
     */
    ControlPlaneApi(HttpClient http, HttpClient streamHttp, URI controlUrl, String nodeName, BearerToken token) {
        this.http = http;
        this.streamHttp = streamHttp;
        this.nodeUrl = controlUrl + "/hyperplane/v1/nodes/" + nodeName;
        this.token = token;
    }

    /** What a config request returned. */
    sealed interface ConfigAnswer permits NewConfig, NotModified {
    }

    /** A 200: the body and the version header as sent (null when absent), both still to be checked. */
    record NewConfig(String versionHeader, String body) implements ConfigAnswer {
    }

    /** A 304: nothing newer within the wait. */
    record NotModified() implements ConfigAnswer {
    }

    /** The control plane answered the stream's upgrade with another status than 101 (and not 401): it has no stream. */
    static final class StreamUnavailable extends IOException {
        StreamUnavailable(String message) {
            super(message);
        }
    }

    /**
     * Opens the configuration stream for a node running version {@code after} (-1: none);
     * {@code listener} gets its messages.
     */
    WebSocket openStream(long after, WebSocket.Listener listener) throws IOException, InterruptedException {
        URI uri = URI.create(nodeUrl.replaceFirst("^http", "ws") + "/stream?after=" + after);
        try {
            return streamHttp.newWebSocketBuilder().header("Authorization", token.authorization()).connectTimeout(STREAM_CONNECT_TIMEOUT)
                    .buildAsync(uri, listener).get(STREAM_CONNECT_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                int status = h.getResponse().statusCode();
                if (status == UNAUTHORIZED) {
                    token.refused();
                    throw new Unauthorized("WS " + uri + ": HTTP 401 with the token from " + token.file());
                }
                throw new StreamUnavailable("WS " + uri + ": HTTP " + status);
            }
            throw new IOException("WS " + uri + ": " + reason(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("WS " + uri + ": no answer within " + STREAM_CONNECT_TIMEOUT.toMillis() * 2 + " ms");
        }
    }

    /** The control plane refused the token (HTTP 401). */
    static final class Unauthorized extends IOException {
        Unauthorized(String message) {
            super(message);
        }
    }

    /** Long-polls for a config newer than {@code after}; the control plane holds the request up to {@code wait}. */
    ConfigAnswer config(long after, Duration wait) throws IOException, InterruptedException {
        HttpRequest request = request(URI.create(nodeUrl + "/config?after=" + after + "&waitSeconds=" + wait.toSeconds()),
                wait.plus(POLL_MARGIN)).GET().build();
        HttpResponse<String> response = send(request);
        return switch (response.statusCode()) {
            case OK -> new NewConfig(response.headers().firstValue(VERSION_HEADER).orElse(null), response.body());
            case NOT_MODIFIED -> new NotModified();
            default -> throw unexpected(request, response);
        };
    }

    /**
     * Registers the node, or refreshes its registration, with what it runs on now; returns the
     * fleet's plan from the answer, or null when it carries none.
     */
    FleetPlan heartbeat(NodeHeartbeat heartbeat) throws IOException, InterruptedException {
        HttpRequest request = request(URI.create(nodeUrl), HEARTBEAT_TIMEOUT)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(FleetJson.encode(heartbeat))).build();
        HttpResponse<String> response = send(request);
        if (response.statusCode() != OK) {
            throw unexpected(request, response);
        }
        try {
            return FleetJson.decode(response.body(), NodeHeartbeatAnswer.class).fleet();
        } catch (IllegalArgumentException e) {
            throw new IOException("heartbeat answer from " + nodeUrl + " unreadable: " + e.getMessage(), e);
        }
    }

    /** Tells the control plane the node is leaving, waiting at most {@code timeout}. */
    void leave(Duration timeout) throws IOException, InterruptedException {
        HttpRequest request = request(URI.create(nodeUrl), timeout).DELETE().build();
        HttpResponse<String> response = send(request);
        if (response.statusCode() / 100 != 2) {
            throw unexpected(request, response);
        }
    }

    private HttpRequest.Builder request(URI uri, Duration timeout) {
        return HttpRequest.newBuilder(uri).timeout(timeout).header("Authorization", token.authorization());
    }

    private HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IOException(describe(request) + ": " + reason(e), e);
        }
        if (response.statusCode() == UNAUTHORIZED) {
            token.refused();
            throw new Unauthorized(describe(request) + ": HTTP 401 with the token from " + token.file());
        }
        return response;
    }

    /** The first message in the cause chain; HttpClient's ConnectException for a refused connection has none at all. */
    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage();
            }
        }
        return e instanceof ConnectException ? "cannot connect" : e.getClass().getSimpleName();
    }

    private static IOException unexpected(HttpRequest request, HttpResponse<String> response) {
        String body = response.body() == null ? "" : response.body().strip();
        if (body.length() > 200) {
            body = body.substring(0, 200) + "...";
        }
        return new IOException(describe(request) + ": HTTP " + response.statusCode() + (body.isEmpty() ? "" : " " + body));
    }

    private static String describe(HttpRequest request) {
        return request.method() + " " + request.uri();
    }
}
