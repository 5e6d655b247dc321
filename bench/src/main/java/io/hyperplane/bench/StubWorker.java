package io.hyperplane.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.Payload;
import io.hyperplane.config.fleet.WorkerHeartbeat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker that runs nothing: it registers with the control plane over the fleet protocol (the
 * heartbeat a real worker sends, {@code PUT /hyperplane/v1/workers/NAME}) and answers every
 * {@code POST /invoke} at once with a success, so that what a bench measures through it is the
 * control plane's side of an invocation. It counts each request id it is given, and the ids it
 * is given again (duplicates).
 */
final class StubWorker implements AutoCloseable {
    /** As a real worker's: often enough to stay within the control plane's liveness window. */
    private static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(1);
    private static final byte[] SUCCESS = FleetJson.encode(new InvokeResult.Success(new Payload("null".getBytes(StandardCharsets.UTF_8)), ""))
            .getBytes(StandardCharsets.UTF_8);

    private final String name;
    private final URI control;
    private final String token;
    private final HttpServer server;
    private final ExecutorService exchanges = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ScheduledExecutorService heartbeats =
            Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("hp-stub-worker-heartbeat").daemon().unstarted(r));
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong counted = new AtomicLong();
    private volatile long countFrom = Long.MAX_VALUE;
    private volatile long countUntil = Long.MAX_VALUE;

    private StubWorker(String name, URI control, String token) throws IOException {
        this.name = name;
        this.control = control;
        this.token = token;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(exchanges);
        server.createContext("/invoke", this::invoke);
        server.start();
    }

    /** Serves on a loopback port and registers with the control plane at {@code control}; returns once registered. */
    static StubWorker start(String name, URI control, String token) throws IOException, InterruptedException {
        StubWorker worker = new StubWorker(name, control, token);
        try {
            worker.heartbeat();
        } catch (IOException | InterruptedException | RuntimeException e) {
            worker.close();
            throw e;
        }
        worker.heartbeats.scheduleWithFixedDelay(worker::beat, HEARTBEAT_INTERVAL.toMillis(), HEARTBEAT_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return worker;
    }

    /** Invocations answered between the two times ({@link System#nanoTime}) are counted in {@link #counted}. */
    void countFrom(long nanoTime, long untilNanoTime) {
        countUntil = untilNanoTime;
        countFrom = nanoTime;
    }

    /** Invocations answered in the counting window. */
    long counted() {
        return counted.get();
    }

    /** Distinct request ids answered so far. */
    long distinct() {
        return seen.size();
    }

    /** Request ids answered more than once. */
    long duplicates() {
        return duplicates.get();
    }

    private void invoke(HttpExchange exchange) throws IOException {
        try (exchange; InputStream in = exchange.getRequestBody()) {
            InvokeRequest request = FleetJson.decode(in.readAllBytes(), InvokeRequest.class);
            if (!seen.add(request.requestId())) {
                duplicates.incrementAndGet();
            }
            long now = System.nanoTime();
            if (now - countFrom >= 0 && now - countUntil < 0) {
                counted.incrementAndGet();
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, SUCCESS.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(SUCCESS);
            }
        }
    }

    private void beat() {
        try {
            heartbeat();
        } catch (IOException | RuntimeException e) {
            System.err.println("stub worker " + name + ": heartbeat failed: " + e.getMessage()); // the next one may get through
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing
        }
    }

    private void heartbeat() throws IOException, InterruptedException {
        URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        String body = FleetJson.encode(new WorkerHeartbeat(url, "127.0.0.1", WorkerHeartbeat.SHARED, 0));
        HttpResponse<String> answer = http.send(HttpRequest.newBuilder(control.resolve("/hyperplane/v1/workers/" + name))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() != 200) {
            throw new IOException("the control plane answered the heartbeat with " + answer.statusCode() + ": " + answer.body());
        }
    }

    @Override
    public void close() {
        heartbeats.shutdownNow();
        server.stop(0);
        exchanges.close();
        http.close();
    }
}
