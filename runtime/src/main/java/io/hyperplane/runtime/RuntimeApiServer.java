package io.hyperplane.runtime;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The AWS Lambda Runtime API, version 2018-06-01, for one execution environment: the HTTP endpoint a
 * runtime finds in {@code AWS_LAMBDA_RUNTIME_API} and long-polls for events.
 *
 * <pre>
 *  worker                        RuntimeApiServer                         runtime process
 *    |                                 |  &lt;-- GET  /runtime/invocation/next --- (first call = end of init)
 *    |-- invoke(Invocation) ---------&gt; |  --- 200 event + Lambda-Runtime-* ----&gt;
 *    |                                 |  &lt;-- POST /runtime/invocation/{id}/response  (202)
 *    | &lt;-- future: Success / FunctionError    or  /{id}/error (202)
 *    |                                 |  &lt;-- POST /runtime/init/error (202 before the first /next, else 403)
 * </pre>
 *
 * <p>Statuses and error bodies are AWS's: the OpenAPI document of the Runtime API (202, 400, 403, 413,
 * 500 per path) and, where that document is silent, what AWS's Runtime Interface Emulator (the
 * open-source core of the service's own Runtime API) renders: {@code InvalidRequestID} (400, "Invalid
 * request ID") for an id that is not the one in flight, {@code InvalidStateTransition} (403, "State
 * transition from X to Y failed for runtime. Error: State transition is not allowed"),
 * {@code RequestEntityTooLarge} (413) with the invocation failing as {@code Function.ResponseSizeTooLarge},
 * and {@code InvokeTimeout} (410) for an answer to an invocation the worker has {@link #abandon abandoned}.
 *
 * <p>This class is the HTTP layer only: it routes, reads bodies under their caps and renders answers.
 * What each request does to the environment, and which answer it gets, is {@link RuntimeApiProtocol}'s.
 *
 * <h2>A hostile runtime</h2>
 * The runtime is the tenant's code, and the worker's JVM serves many environments, so what one runtime can make
 * this server hold is bounded:
 * <ul>
 *   <li><b>Bodies</b>, by these handlers, before reading: a response at {@link #MAX_PAYLOAD_BYTES}, an error
 *       ({@code /error}, {@code /init/error}) at {@link #MAX_ERROR_BYTES}. A declared Content-Length over the cap
 *       is refused 413 unread; a chunked body is read to cap + 1 bytes (the most ever held) and refused. The 413
 *       says {@code Connection: close}; up to {@link #DRAIN_BYTES} more of the body are read and dropped so that
 *       a client that sends all before reading (python's http.client) reads it, and beyond that the close resets
 *       the connection. A refused response still fails the invocation as {@code Function.ResponseSizeTooLarge};
 *       a refused error still fails it, or init, with its header's errorType and an empty errorMessage.</li>
 *   <li><b>Request heads</b>, by the JDK server's own defaults (JDK 25, {@code sun.net.httpserver.ServerConfig}):
 *       at most 200 fields ({@code sun.net.httpserver.maxReqHeaders}) and 380 KiB of request line and fields,
 *       32 bytes counted per field ({@code sun.net.httpserver.maxReqHeaderSize}); beyond either the connection
 *       is closed unanswered. They are left as they are: they are JVM-wide, read once, and the worker's own
 *       server shares them. Neither a request nor a response has a time limit
 *       ({@code sun.net.httpserver.maxReqTime} and {@code maxRspTime} are unset), which the {@code /next}
 *       long-poll needs.</li>
 *   <li><b>Connections</b>, by the kernel: the worker loads an nftables rule into each environment's network
 *       namespace that resets a new connection to the Runtime API beyond 16 open ones (see the worker's
 *       {@code RuntimeApiConnectionLimit}); the JDK server's own limit ({@code jdk.httpserver.maxConnections})
 *       is JVM-wide too.</li>
 *   <li><b>Threads</b>: {@link #HANDLER_THREADS}. The JDK server reads a request's head on a handler thread, so a
 *       client that sends a byte and stops holds one, as does one that stops inside a body; four such clients
 *       stall this environment's API. Only their own: every environment has its server, its threads, and its
 *       16 connections, and none is the worker's.</li>
 * </ul>
 */
public final class RuntimeApiServer implements AutoCloseable {

    /**
     * The largest response body accepted: Lambda's 6 MB synchronous payload quota, which the service counts as
     * 6 MiB + 100 bytes ("exceeded maximum allowed payload size (6291556 bytes)").
     */
    public static final int MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100;

    /**
     * The largest error body accepted, on {@code /error} and {@code /init/error}: 256 KiB, Lambda's quota for
     * an asynchronous invocation's payload (the most an error can carry on to an on-failure destination) and
     * far above any stack trace a runtime reports. AWS's Runtime API documents no limit of its own for one.
     */
    public static final int MAX_ERROR_BYTES = 256 * 1024;

    /**
     * Read and dropped after refusing a body, before closing: python's http.client sends a whole body before
     * reading the answer, and a close with the body unread resets the connection under it, the 413 unread.
     * Enough for a runtime that overshoots the 6 MB quota by a little; bounded in bytes only, as a client that
     * stops sending holds a handler thread inside any body it sends.
     */
    private static final long DRAIN_BYTES = 8 * 1024 * 1024;

    /** Enough for the one long-poll a runtime keeps open plus the posts of a runtime that misbehaves. */
    private static final int HANDLER_THREADS = 4;

    private static final String PREFIX = "/2018-06-01/runtime/";
    private static final String ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type";
    private static final byte[] ACCEPTED = "{\"status\":\"OK\"}".getBytes(StandardCharsets.US_ASCII);

    private final HttpServer server;
    private final ExecutorService executor;
    private final InetSocketAddress address;
    private final RuntimeApiProtocol protocol;

    private RuntimeApiServer(HttpServer server, ExecutorService executor, InstantSource clock) {
        this.server = server;
        this.executor = executor;
        this.address = server.getAddress();
        this.protocol = new RuntimeApiProtocol(address.toString(), clock);
    }

    /** {@link #start(InetSocketAddress, InstantSource)} with the system clock. */
    public static RuntimeApiServer start(InetSocketAddress bind) throws IOException {
        return start(bind, InstantSource.system());
    }

    /**
     * Binds {@code bind} on the calling thread and starts serving. Binding here, not on a server thread,
     * is what lets a caller that has {@code setns}'ed this thread into an execution environment's network
     * namespace serve inside it: a socket stays in the namespace it was created in, whichever thread
     * later accepts on it.
     *
     * @param clock where {@link #initDoneAt()} comes from
     */
    public static RuntimeApiServer start(InetSocketAddress bind, InstantSource clock) throws IOException {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(clock, "clock");
        HttpServer server = HttpServer.create(bind, 0);
        int port = server.getAddress().getPort();
        ExecutorService executor = Executors.newFixedThreadPool(HANDLER_THREADS, daemonThreads("hp-rapi-" + port));
        RuntimeApiServer api = new RuntimeApiServer(server, executor, clock);
        server.setExecutor(executor);
        server.createContext("/", api::handle);
        server.start();
        return api;
    }

    /** The bound address; its {@code host:port} is what goes into {@code AWS_LAMBDA_RUNTIME_API}. */
    public InetSocketAddress address() {
        return address;
    }

    /**
     * Waits for the end of init: the runtime's first {@code /next} ({@link InitOutcome.Ready}) or its
     * {@code /init/error} ({@link InitOutcome.InitError}). {@link InitOutcome.TimedOut} when neither came
     * within {@code timeout}, or the server was closed first.
     */
    public InitOutcome awaitInit(Duration timeout) throws InterruptedException {
        return protocol.awaitInit(timeout);
    }

    /**
     * The end of init as a future, for a caller that waits for it together with something else (the
     * runtime's process exiting): completes with {@link InitOutcome.Ready} or {@link InitOutcome.InitError}
     * when init ends, or {@link InitOutcome.TimedOut} when the server is closed first; never otherwise (the
     * caller keeps its own time limit).
     */
    public CompletableFuture<InitOutcome> initOutcome() {
        return protocol.initOutcome();
    }

    /** When the first {@code /next} arrived (by the clock given to {@code start}), empty before. */
    public Optional<Instant> initDoneAt() {
        return protocol.initDoneAt();
    }

    /** {@link System#nanoTime()} at the first {@code /next}, for measuring init against a nanoTime of the worker's. */
    public OptionalLong initDoneNanos() {
        return protocol.initDoneNanos();
    }

    /**
     * Hands {@code invocation} to the runtime's (current or next) {@code /next}. The future completes when
     * the runtime posts {@code /response} or {@code /error}; it is cancelled by {@link #abandon} and
     * {@link #close}. After an init error it completes at once with that error, as AWS answers the invoke
     * that finds an environment whose init failed.
     *
     * @throws IllegalStateException if an invocation is still in flight, or the server is closed
     */
    public CompletableFuture<InvocationOutcome> invoke(Invocation invocation) {
        return protocol.invoke(invocation);
    }

    /**
     * Gives up on {@code requestId} (the worker's timeout, or the runtime process died): its future is
     * cancelled, and a late {@code /response} or {@code /error} for it gets 410 {@code InvokeTimeout}, as
     * AWS answers a runtime that reports after its invoke timed out.
     *
     * @return whether {@code requestId} was queued or in flight
     */
    public boolean abandon(String requestId) {
        return protocol.abandon(requestId);
    }

    /**
     * Stops serving at once: a pending {@code /next} is answered 500 (AWS: "Container error.
     * Non-recoverable state. Runtime should exit promptly.") or has its connection closed, and an
     * invocation in flight is cancelled. Idempotent.
     */
    @Override
    public void close() {
        if (protocol.close()) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    @Override
    public String toString() {
        return "RuntimeApiServer[" + address + "]";
    }

    private void handle(HttpExchange exchange) {
        try (exchange) {
            route(exchange);
        } catch (IOException hungUp) {
            // The runtime closed its connection; there is no one left to answer.
        }
    }

    private void route(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        if (path != null && path.startsWith(PREFIX)) {
            String rest = path.substring(PREFIX.length());
            if (rest.equals("invocation/next")) {
                if (allowed(exchange, method, "GET")) {
                    send(exchange, protocol.next());
                }
                return;
            }
            if (rest.equals("init/error")) {
                if (allowed(exchange, method, "POST")) {
                    RuntimeApiProtocol.Posted body = read(exchange, MAX_ERROR_BYTES);
                    send(exchange, protocol.initError(body, exchange.getRequestHeaders().getFirst(ERROR_TYPE_HEADER)), body);
                }
                return;
            }
            if (rest.startsWith("invocation/")) {
                String tail = rest.substring("invocation/".length());
                int slash = tail.indexOf('/');
                if (slash > 0) {
                    String requestId = tail.substring(0, slash);
                    String action = tail.substring(slash + 1);
                    if (action.equals("response")) {
                        if (allowed(exchange, method, "POST")) {
                            RuntimeApiProtocol.Posted body = read(exchange, MAX_PAYLOAD_BYTES);
                            send(exchange, protocol.response(body, requestId), body);
                        }
                        return;
                    }
                    if (action.equals("error")) {
                        if (allowed(exchange, method, "POST")) {
                            RuntimeApiProtocol.Posted body = read(exchange, MAX_ERROR_BYTES);
                            send(exchange, protocol.error(body, exchange.getRequestHeaders().getFirst(ERROR_TYPE_HEADER), requestId), body);
                        }
                        return;
                    }
                }
            }
        }
        // What AWS's router (Go chi) answers for a path it does not serve.
        byte[] body = "404 page not found\n".getBytes(StandardCharsets.US_ASCII);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(404, body.length);
        exchange.getResponseBody().write(body);
    }

    private static boolean allowed(HttpExchange exchange, String method, String expected) throws IOException {
        if (method.equals(expected)) {
            return true;
        }
        // chi answers a known path with the wrong method 405 and no body; Allow is what RFC 9110 §15.5.6 asks.
        exchange.getResponseHeaders().set("Allow", expected);
        exchange.sendResponseHeaders(405, -1);
        return false;
    }

    /**
     * Reads a request body with a cap: whole, or refused having kept none of it. A declared Content-Length over
     * the cap is refused unread; a chunked body after cap + 1 bytes, the most ever held.
     */
    private static RuntimeApiProtocol.Posted read(HttpExchange exchange, int cap) throws IOException {
        // The JDK server has answered 400 to a Content-Length that is not one non-negative number, and to one
        // beside Transfer-Encoding; without either header the body is empty.
        String declared = exchange.getRequestHeaders().getFirst("Content-Length");
        long length = declared == null ? 0 : Long.parseLong(declared);
        if (length > cap) {
            return new RuntimeApiProtocol.Posted.TooLarge(length, cap);
        }
        byte[] head = exchange.getRequestBody().readNBytes(cap + 1);
        return head.length > cap ? new RuntimeApiProtocol.Posted.TooLarge(head.length, cap) : new RuntimeApiProtocol.Posted.Whole(head);
    }

    /** Renders the protocol's answer as AWS does: status, and the body of the OpenAPI document or the emulator. */
    private static void send(HttpExchange exchange, RuntimeApiProtocol.Answer answer) throws IOException {
        switch (answer) {
            case RuntimeApiProtocol.Answer.Event event -> sendEvent(exchange, event.invocation());
            case RuntimeApiProtocol.Answer.Accepted accepted -> sendJson(exchange, 202, ACCEPTED);
            case RuntimeApiProtocol.Answer.InvalidRequestId invalid ->
                    sendJson(exchange, 400, ErrorBodies.render("InvalidRequestID", "Invalid request ID"));
            case RuntimeApiProtocol.Answer.InvokeTimeout timedOut ->
                    sendJson(exchange, 410, ErrorBodies.render("InvokeTimeout", "Invoke timeout"));
            case RuntimeApiProtocol.Answer.InvalidStateTransition refused -> sendJson(exchange, 403, ErrorBodies.render(
                    "InvalidStateTransition", "State transition from " + refused.from().awsName + " to " + refused.to().awsName
                            + " failed for runtime. Error: State transition is not allowed"));
            case RuntimeApiProtocol.Answer.RequestEntityTooLarge tooLarge -> sendJson(exchange, 413, ErrorBodies.render(
                    "RequestEntityTooLarge", "Exceeded maximum allowed payload size (" + tooLarge.cap() + " bytes)."));
            case RuntimeApiProtocol.Answer.ContainerError error ->
                    sendJson(exchange, 500, ErrorBodies.render("InternalServerError", "Internal Server Error"));
        }
    }

    /**
     * {@code answer} to a post whose body was read as {@code body}. A body refused as too large is left unread, so
     * the connection ends after the answer ({@code Connection: close}, RFC 9112 §9.6); the answer goes out first,
     * then up to {@link #DRAIN_BYTES} of the rest are read and dropped.
     */
    private static void send(HttpExchange exchange, RuntimeApiProtocol.Answer answer, RuntimeApiProtocol.Posted body) throws IOException {
        if (!(body instanceof RuntimeApiProtocol.Posted.TooLarge)) {
            send(exchange, answer);
            return;
        }
        exchange.getResponseHeaders().set("Connection", "close");
        send(exchange, answer);
        exchange.getResponseBody().flush();
        exchange.getRequestBody().skip(DRAIN_BYTES);
    }

    private static void sendEvent(HttpExchange exchange, Invocation invocation) throws IOException {
        Headers headers = exchange.getResponseHeaders();
        headers.set("Lambda-Runtime-Aws-Request-Id", invocation.requestId());
        headers.set("Lambda-Runtime-Deadline-Ms", Long.toString(invocation.deadlineEpochMillis()));
        headers.set("Lambda-Runtime-Invoked-Function-Arn", invocation.invokedFunctionArn());
        setIfPresent(headers, "Lambda-Runtime-Trace-Id", invocation.traceId());
        setIfPresent(headers, "Lambda-Runtime-Client-Context", invocation.clientContext());
        setIfPresent(headers, "Lambda-Runtime-Cognito-Identity", invocation.cognitoIdentity());
        headers.set("Content-Type", "application/json");
        byte[] payload = invocation.payload();
        exchange.sendResponseHeaders(200, payload.length == 0 ? -1 : payload.length);
        if (payload.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(payload);
            }
        }
    }

    private static void setIfPresent(Headers headers, String name, String value) {
        if (value != null && !value.isEmpty()) {
            headers.set(name, value);
        }
    }

    private static void sendJson(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return task -> Thread.ofPlatform().name(prefix + "-" + count.incrementAndGet()).daemon(true).unstarted(task);
    }
}
