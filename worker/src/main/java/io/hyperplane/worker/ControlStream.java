package io.hyperplane.worker;

import io.hyperplane.config.fleet.EnvironmentRegistration;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.RegistrationAnswer;
import io.hyperplane.config.fleet.RegistrationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The worker's WebSocket to the control plane ({@code /hyperplane/v1/workers/NAME/stream}), for
 * the one request on a cold start's path: registering an environment and waiting until every node
 * runs it ({@link RegistrationRequest}, answered by a {@link RegistrationAnswer}). Requests carry
 * an id and are answered in any order, so a burst of cold starts shares the socket. Opened on first use and again after it closes; when it cannot be opened (an older
 * control plane, a proxy without WebSockets) {@link #request} throws and the caller uses HTTP; the
 * stream is tried again after {@link #RETRY_NANOS}.
 */
final class ControlStream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlStream.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final long RETRY_NANOS = 30_000_000_000L;

    /** The stream could not be used for this request; nothing is known to have happened (the caller may retry over HTTP). */
    static final class Unavailable extends IOException {
        Unavailable(String message) {
            super(message);
        }
    }

    private final HttpClient http;
    private final URI uri;
    private final String authorization;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<RegistrationAnswer>> pending = new ConcurrentHashMap<>();
    private WebSocket socket; // guarded by this, as are sending and retryAt
    private CompletableFuture<WebSocket> sending;
    private long retryAt = System.nanoTime();
    private boolean closed;

    /** {@code http} is the stream's own (closed with it). */
    ControlStream(HttpClient http, URI control, String workerName, String token) {
        this.http = http;
        this.uri = URI.create(control.toString().replaceFirst("^http", "ws").replaceFirst("/$", "") + "/hyperplane/v1/workers/" + workerName + "/stream");
        this.authorization = "Bearer " + token;
    }

    /** Sends the registration and returns the answer to it, waiting at most {@code timeout}. */
    RegistrationAnswer register(EnvironmentRegistration registration, boolean waitForNodes, Duration timeout) throws IOException, InterruptedException {
        long id = ids.incrementAndGet();
        CompletableFuture<RegistrationAnswer> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            send(FleetJson.encode(new RegistrationRequest(id, registration, waitForNodes)));
            return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new Unavailable("control stream: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new IOException("control stream: no answer within " + timeout.toMillis() + " ms");
        } finally {
            pending.remove(id);
        }
    }

    private synchronized void send(String text) throws Unavailable, InterruptedException {
        if (socket == null || socket.isOutputClosed() || socket.isInputClosed()) {
            open();
        }
        WebSocket ws = socket;
        sending = sending.thenCompose(w -> w.sendText(text, true));
        sending.whenComplete((w, failure) -> {
            if (failure != null) {
                dropped(ws, "sending failed: " + failure.getMessage());
            }
        });
    }

    private void open() throws Unavailable, InterruptedException {
        if (closed) {
            throw new Unavailable("control stream closed");
        }
        if (System.nanoTime() - retryAt < 0) {
            throw new Unavailable("control stream unavailable, retrying later");
        }
        try {
            socket = http.newWebSocketBuilder().header("Authorization", authorization).connectTimeout(CONNECT_TIMEOUT)
                    .buildAsync(uri, new Listener()).get(CONNECT_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
            sending = CompletableFuture.completedFuture(socket);
            LOG.info("control stream open: {}", uri);
        } catch (ExecutionException | TimeoutException e) {
            retryAt = System.nanoTime() + RETRY_NANOS;
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            String why = cause instanceof WebSocketHandshakeException h ? "HTTP " + h.getResponse().statusCode()
                    : cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
            LOG.info("no control stream ({}: {}): registering over HTTP, trying again in {} s", uri, why, TimeUnit.NANOSECONDS.toSeconds(RETRY_NANOS));
            throw new Unavailable("control stream: " + why);
        }
    }

    /** The socket ended: every request waiting on it fails (to be retried over HTTP). */
    private void dropped(WebSocket ws, String why) {
        synchronized (this) {
            if (socket == ws) {
                socket = null;
            }
        }
        for (CompletableFuture<RegistrationAnswer> f : pending.values()) {
            f.completeExceptionally(new IOException(why));
        }
    }

    @Override
    public void close() {
        WebSocket ws;
        synchronized (this) {
            closed = true;
            ws = socket;
            socket = null;
        }
        if (ws != null) {
            ws.abort();
        }
        for (CompletableFuture<RegistrationAnswer> f : pending.values()) {
            f.completeExceptionally(new IOException("worker stopping"));
        }
        http.shutdownNow();
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    RegistrationAnswer answer = FleetJson.decode(text, RegistrationAnswer.class);
                    CompletableFuture<RegistrationAnswer> f = pending.get(answer.id());
                    if (f != null) {
                        f.complete(answer);
                    }
                } catch (IllegalArgumentException e) {
                    LOG.warn("control stream: ignoring what is not an answer: {}", e.getMessage());
                }
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            dropped(ws, "closed by the control plane (" + statusCode + " " + reason + ")");
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            dropped(ws, String.valueOf(error.getMessage()));
        }
    }
}
