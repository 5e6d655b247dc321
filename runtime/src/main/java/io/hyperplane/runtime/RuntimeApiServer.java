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
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

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
 * <p>One invocation at a time, as a Lambda execution environment has. The worker owns timeouts and
 * process exits; this class only keeps the protocol's state:
 *
 * <pre>
 *  Started --/next--&gt; Ready --event handed over--&gt; Running --/response|/error|abandon--&gt; RuntimeResponseSentState --/next--&gt; Ready
 *  Started --/init/error--&gt; InitError   (terminal: the runtime is expected to exit)
 * </pre>
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
    private static final byte[] NO_BODY = new byte[0];

    /** The runtime's side of the protocol; names are the ones AWS puts in InvalidStateTransition messages. */
    private enum RuntimeState {
        STARTED("Started"),
        INIT_ERROR("InitError"),
        READY("Ready"),
        RUNNING("Running"),
        RESPONSE_SENT("RuntimeResponseSentState");

        final String awsName;

        RuntimeState(String awsName) {
            this.awsName = awsName;
        }
    }

    private record Pending(Invocation invocation, CompletableFuture<InvocationOutcome> future) {
    }

    private record Reply(int status, byte[] body) {
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final InetSocketAddress address;
    private final InstantSource clock;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // All below guarded by lock.
    private RuntimeState state = RuntimeState.STARTED;
    private Pending queued;
    private Pending inFlight;
    private String abandonedRequestId;
    private InitOutcome.InitError initError;
    private Instant initDoneAt;
    private long initDoneNanos;
    private boolean closed;

    private RuntimeApiServer(HttpServer server, ExecutorService executor, InstantSource clock) {
        this.server = server;
        this.executor = executor;
        this.address = server.getAddress();
        this.clock = clock;
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
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (state == RuntimeState.STARTED && !closed) {
                if (nanos <= 0) {
                    return new InitOutcome.TimedOut();
                }
                nanos = changed.awaitNanos(nanos);
            }
            if (initError != null) {
                return initError;
            }
            return initDoneAt != null ? new InitOutcome.Ready() : new InitOutcome.TimedOut();
        } finally {
            lock.unlock();
        }
    }

    /** When the first {@code /next} arrived (by the clock given to {@code start}), empty before. */
    public Optional<Instant> initDoneAt() {
        lock.lock();
        try {
            return Optional.ofNullable(initDoneAt);
        } finally {
            lock.unlock();
        }
    }

    /** {@link System#nanoTime()} at the first {@code /next}, for measuring init against a nanoTime of the worker's. */
    public OptionalLong initDoneNanos() {
        lock.lock();
        try {
            return initDoneAt == null ? OptionalLong.empty() : OptionalLong.of(initDoneNanos);
        } finally {
            lock.unlock();
        }
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
        Objects.requireNonNull(invocation, "invocation");
        CompletableFuture<InvocationOutcome> future = new CompletableFuture<>();
        InitOutcome.InitError failedInit;
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("Runtime API on " + address + " is closed; cannot invoke " + invocation.requestId());
            }
            Pending busy = inFlight != null ? inFlight : queued;
            if (busy != null) {
                throw new IllegalStateException("cannot invoke " + invocation.requestId() + ": invocation "
                        + busy.invocation().requestId() + " is still in flight on " + address
                        + " (one at a time; abandon it first)");
            }
            failedInit = initError;
            if (failedInit == null) {
                queued = new Pending(invocation, future);
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (failedInit != null) {
            future.complete(asFunctionError(failedInit));
        }
        return future;
    }

    /**
     * Gives up on {@code requestId} (the worker's timeout, or the runtime process died): its future is
     * cancelled, and a late {@code /response} or {@code /error} for it gets 410 {@code InvokeTimeout}, as
     * AWS answers a runtime that reports after its invoke timed out.
     *
     * @return whether {@code requestId} was queued or in flight
     */
    public boolean abandon(String requestId) {
        Pending dropped = null;
        lock.lock();
        try {
            if (inFlight != null && inFlight.invocation().requestId().equals(requestId)) {
                dropped = inFlight;
                inFlight = null;
                state = RuntimeState.RESPONSE_SENT;
            } else if (queued != null && queued.invocation().requestId().equals(requestId)) {
                dropped = queued;
                queued = null;
            }
            if (dropped != null) {
                abandonedRequestId = requestId;
            }
        } finally {
            lock.unlock();
        }
        if (dropped != null) {
            dropped.future().cancel(false);
        }
        return dropped != null;
    }

    /**
     * Stops serving at once: a pending {@code /next} is answered 500 (AWS: "Container error.
     * Non-recoverable state. Runtime should exit promptly.") or has its connection closed, and an
     * invocation in flight is cancelled. Idempotent.
     */
    @Override
    public void close() {
        Pending queuedDropped;
        Pending inFlightDropped;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            queuedDropped = queued;
            inFlightDropped = inFlight;
            queued = null;
            inFlight = null;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        server.stop(0);
        executor.shutdownNow();
        if (queuedDropped != null) {
            queuedDropped.future().cancel(false);
        }
        if (inFlightDropped != null) {
            inFlightDropped.future().cancel(false);
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
                    next(exchange);
                }
                return;
            }
            if (rest.equals("init/error")) {
                if (allowed(exchange, method, "POST")) {
                    Body body = Body.read(exchange, MAX_ERROR_BYTES);
                    send(exchange, initError(body, exchange.getRequestHeaders().getFirst(ERROR_TYPE_HEADER)), body);
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
                            Body body = Body.read(exchange, MAX_PAYLOAD_BYTES);
                            send(exchange, response(body, requestId), body);
                        }
                        return;
                    }
                    if (action.equals("error")) {
                        if (allowed(exchange, method, "POST")) {
                            Body body = Body.read(exchange, MAX_ERROR_BYTES);
                            send(exchange, error(body, exchange.getRequestHeaders().getFirst(ERROR_TYPE_HEADER), requestId), body);
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

    private void next(HttpExchange exchange) throws IOException {
        Pending taken = null;
        Reply refused = null;
        lock.lock();
        try {
            if (state == RuntimeState.INIT_ERROR || state == RuntimeState.RUNNING) {
                refused = forbiddenTransition(state, RuntimeState.READY);
            } else {
                if (state == RuntimeState.STARTED) {
                    initDoneAt = clock.instant();
                    initDoneNanos = System.nanoTime();
                }
                state = RuntimeState.READY;
                changed.signalAll();
                while (queued == null && !closed) {
                    changed.await();
                }
                if (closed) {
                    refused = internalServerError();
                } else {
                    taken = queued;
                    queued = null;
                    inFlight = taken;
                    state = RuntimeState.RUNNING;
                }
            }
        } catch (InterruptedException shuttingDown) {
            Thread.currentThread().interrupt();
            refused = internalServerError();
        } finally {
            lock.unlock();
        }
        if (refused != null) {
            send(exchange, refused);
            return;
        }
        Invocation invocation = taken.invocation();
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

    /**
     * {@code /response}. Over {@link #MAX_PAYLOAD_BYTES} the invocation fails as AWS fails it,
     * {@code Function.ResponseSizeTooLarge}, naming the declared size (or, for a chunked body, the cap + 1
     * bytes read before refusing), and the runtime is answered 413.
     */
    private Reply response(Body body, String requestId) {
        Answered answered = answer(requestId);
        if (answered.rejected() != null) {
            return answered.rejected();
        }
        CompletableFuture<InvocationOutcome> future = answered.done().future();
        return switch (body) {
            case Body.TooLarge tooLarge -> {
                future.complete(responseTooLarge(tooLarge.size()));
                yield requestEntityTooLarge(MAX_PAYLOAD_BYTES);
            }
            case Body.Whole whole -> {
                future.complete(new InvocationOutcome.Success(whole.bytes()));
                yield new Reply(202, ACCEPTED);
            }
        };
    }

    /**
     * {@code /error}. Over {@link #MAX_ERROR_BYTES} the body is dropped, never cut (a cut JSON document is no
     * error document): the error stands with the errorType of its header and an empty errorMessage, as AWS
     * reports an error posted without a body, and the runtime is answered 413.
     */
    private Reply error(Body body, String typeHeader, String requestId) {
        Answered answered = answer(requestId);
        if (answered.rejected() != null) {
            return answered.rejected();
        }
        byte[] raw = body instanceof Body.Whole whole ? whole.bytes() : NO_BODY;
        ErrorBodies.Reported reported = ErrorBodies.read(raw, typeHeader);
        // Without a readable body AWS builds the caller's error from the header alone.
        byte[] errorJson = raw.length > 0 ? raw : ErrorBodies.render(reported.errorType(), reported.errorMessage());
        answered.done().future().complete(new InvocationOutcome.FunctionError(reported.errorType(), errorJson));
        return body instanceof Body.TooLarge ? requestEntityTooLarge(MAX_ERROR_BYTES) : new Reply(202, ACCEPTED);
    }

    /** {@code /init/error}. Over {@link #MAX_ERROR_BYTES} init fails all the same, as for {@code /error}, and 413. */
    private Reply initError(Body body, String typeHeader) {
        byte[] raw = body instanceof Body.Whole whole ? whole.bytes() : NO_BODY;
        ErrorBodies.Reported reported = ErrorBodies.read(raw, typeHeader);
        InitOutcome.InitError failure = new InitOutcome.InitError(reported.errorType(), reported.errorMessage(), raw);
        Pending waiting;
        lock.lock();
        try {
            if (state != RuntimeState.STARTED) {
                return forbiddenTransition(state, RuntimeState.INIT_ERROR);
            }
            state = RuntimeState.INIT_ERROR;
            initError = failure;
            waiting = queued;
            queued = null;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (waiting != null) {
            waiting.future().complete(asFunctionError(failure));
        }
        return body instanceof Body.TooLarge ? requestEntityTooLarge(MAX_ERROR_BYTES) : new Reply(202, ACCEPTED);
    }

    /** The in-flight invocation the runtime answers, taken off (state: response sent); or why it cannot be. */
    private record Answered(Pending done, Reply rejected) {
    }

    private Answered answer(String requestId) {
        lock.lock();
        try {
            Reply rejected = checkRequestId(requestId);
            if (rejected != null) {
                return new Answered(null, rejected);
            }
            Pending done = inFlight;
            inFlight = null;
            state = RuntimeState.RESPONSE_SENT;
            return new Answered(done, null);
        } finally {
            lock.unlock();
        }
    }

    /** Null when {@code requestId} is the invocation in flight; else AWS's answer. Call with the lock held. */
    private Reply checkRequestId(String requestId) {
        if (inFlight != null && inFlight.invocation().requestId().equals(requestId)) {
            return null;
        }
        if (requestId.equals(abandonedRequestId)) {
            return new Reply(410, ErrorBodies.render("InvokeTimeout", "Invoke timeout"));
        }
        return new Reply(400, ErrorBodies.render("InvalidRequestID", "Invalid request ID"));
    }

    private static Reply forbiddenTransition(RuntimeState from, RuntimeState to) {
        return new Reply(403, ErrorBodies.render("InvalidStateTransition", "State transition from " + from.awsName
                + " to " + to.awsName + " failed for runtime. Error: State transition is not allowed"));
    }

    private static Reply requestEntityTooLarge(int cap) {
        return new Reply(413, ErrorBodies.render("RequestEntityTooLarge",
                "Exceeded maximum allowed payload size (" + cap + " bytes)."));
    }

    private static Reply internalServerError() {
        return new Reply(500, ErrorBodies.render("InternalServerError", "Internal Server Error"));
    }

    private static InvocationOutcome.FunctionError responseTooLarge(long size) {
        String type = "Function.ResponseSizeTooLarge";
        return new InvocationOutcome.FunctionError(type, ErrorBodies.render(type, "Response payload size (" + size
                + " bytes) exceeded maximum allowed payload size (" + MAX_PAYLOAD_BYTES + " bytes)."));
    }

    private static InvocationOutcome.FunctionError asFunctionError(InitOutcome.InitError failure) {
        byte[] body = failure.rawBody().length > 0 ? failure.rawBody()
                : ErrorBodies.render(failure.errorType(), failure.errorMessage());
        return new InvocationOutcome.FunctionError(failure.errorType(), body);
    }

    private static void setIfPresent(Headers headers, String name, String value) {
        if (value != null && !value.isEmpty()) {
            headers.set(name, value);
        }
    }

    private static void send(HttpExchange exchange, Reply reply) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(reply.status(), reply.body().length);
        exchange.getResponseBody().write(reply.body());
    }

    /**
     * {@code reply} to a post whose body was read as {@code body}. A body refused as too large is left unread, so
     * the connection ends after the reply ({@code Connection: close}, RFC 9112 §9.6); the reply goes out first,
     * then up to {@link #DRAIN_BYTES} of the rest are read and dropped.
     */
    private static void send(HttpExchange exchange, Reply reply, Body body) throws IOException {
        if (!(body instanceof Body.TooLarge)) {
            send(exchange, reply);
            return;
        }
        exchange.getResponseHeaders().set("Connection", "close");
        send(exchange, reply);
        exchange.getResponseBody().flush();
        exchange.getRequestBody().skip(DRAIN_BYTES);
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return task -> Thread.ofPlatform().name(prefix + "-" + count.incrementAndGet()).daemon(true).unstarted(task);
    }

    /**
     * A request body read with a cap: whole, or refused having kept none of it. A declared Content-Length over
     * the cap is refused unread; a chunked body after cap + 1 bytes, the most ever held.
     */
    private sealed interface Body {

        record Whole(byte[] bytes) implements Body {
        }

        /** {@code size}: the declared length, or for a chunked body the cap + 1 bytes read before refusing. */
        record TooLarge(long size) implements Body {
        }

        static Body read(HttpExchange exchange, int cap) throws IOException {
            // The JDK server has answered 400 to a Content-Length that is not one non-negative number, and to one
            // beside Transfer-Encoding; without either header the body is empty.
            String declared = exchange.getRequestHeaders().getFirst("Content-Length");
            long length = declared == null ? 0 : Long.parseLong(declared);
            if (length > cap) {
                return new TooLarge(length);
            }
            byte[] head = exchange.getRequestBody().readNBytes(cap + 1);
            return head.length > cap ? new TooLarge(head.length) : new Whole(head);
        }
    }
}
