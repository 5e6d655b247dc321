package io.hyperplane.worker;

import io.hyperplane.config.fleet.EnvironmentRegistered;
import io.hyperplane.config.fleet.EnvironmentRegistration;
import io.hyperplane.config.fleet.FleetError;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.LegacyEniCreated;
import io.hyperplane.config.fleet.LegacyEniRequest;
import io.hyperplane.config.fleet.RegistrationAnswer;
import io.hyperplane.config.fleet.WorkerHeartbeat;
import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The worker's side of the fleet API (bearer token): heartbeats, environments, code, legacy ENIs. */
final class ControlClient {

    /** A refusal from the control plane: HTTP status and its message (or error type). */
    static final class ControlException extends IOException {
        final int status;
        final String errorType;

        ControlException(int status, String errorType, String message) {
            super(message);
            this.status = status;
            this.errorType = errorType;
        }
    }

    private final URI control;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    private final ControlStream stream;
    /** Cold-start registrations answered over the control stream, and over HTTP (no stream, or it dropped). */
    final AtomicLong registeredOverStream = new AtomicLong();
    final AtomicLong registeredOverHttp = new AtomicLong();

    ControlClient(URI control, String token, String workerName) {
        this.control = control;
        this.token = token;
        // Its own client, whose selector thread handles each answer itself: one hand-off fewer per cold start.
        this.stream = new ControlStream(HttpClient.newBuilder().executor(Runnable::run).connectTimeout(Duration.ofSeconds(2)).build(),
                control, workerName, token);
    }

    /** Closes the control stream (requests still waiting on it fail). */
    void closeStream() {
        stream.close();
    }

    /**
     * Sends {@code message} (null: no body) and returns the answer's body; a refusal (any status
     * but 2xx) as a ControlException with the control plane's {@link FleetError}, or the body as
     * its message when it is none (a proxy's page, say).
     */
    private String call(String method, String path, Object message, Duration timeout) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(control.resolve(path)).timeout(timeout).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .method(method, message == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(FleetJson.encode(message)))
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            FleetError error = refusal(response.body());
            throw new ControlException(response.statusCode(), error.errorType(), method + " " + path + ": HTTP " + response.statusCode() + " " + error.message());
        }
        return response.body();
    }

    private static FleetError refusal(String body) {
        try {
            return FleetJson.decode(body, FleetError.class);
        } catch (IllegalArgumentException e) {
            return FleetError.of(body.isEmpty() ? "(no body)" : body);
        }
    }

    /** The answer to a request that succeeded, as {@code type}; one that is none is an IOException naming the request. */
    private static <T> T answer(String body, Class<T> type, String request) throws IOException {
        try {
            return FleetJson.decode(body, type);
        } catch (IllegalArgumentException e) {
            throw new IOException(request + ": the control plane's answer is not a " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /** Registers or refreshes the worker; returns the live forwarder nodes and the fleet's plan. */
    WorkerHeartbeatAnswer heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) throws IOException, InterruptedException {
        String path = "/hyperplane/v1/workers/" + name;
        String body = call("PUT", path, new WorkerHeartbeat(url, underlayIp, networkModel, environments), Duration.ofSeconds(5));
        return answer(body, WorkerHeartbeatAnswer.class, "PUT " + path);
    }

    void leave(String name) throws IOException, InterruptedException {
        call("DELETE", "/hyperplane/v1/workers/" + name, null, Duration.ofSeconds(2));
    }

    /**
     * Registers an environment (without an ENI: a slot prepared ahead) and returns its VNI; with
     * {@code waitForNodes}, only once every live node runs a configuration that has it.
     */
    int registerEnvironment(String id, String hostIp, String ip, String mac, String eniId, boolean waitForNodes) throws IOException, InterruptedException {
        EnvironmentRegistration registration = new EnvironmentRegistration(id, hostIp, ip, mac, eniId);
        if (waitForNodes) {
            // A cold start waits for this: over the control stream when there is one (a message each
            // way on an open socket), else over HTTP. Registering again is harmless, so a stream that
            // drops mid-request falls back too.
            try {
                RegistrationAnswer answer = stream.register(registration, true, Duration.ofSeconds(15));
                switch (answer) {
                    case RegistrationAnswer.Registered registered -> {
                        registeredOverStream.incrementAndGet();
                        return vni(registered.vni());
                    }
                    case RegistrationAnswer.Refused refused -> throw new ControlException(refused.status(), null,
                            "registering environment " + id + ": " + refused.status() + " " + refused.message());
                }
            } catch (ControlStream.Unavailable e) {
                registeredOverHttp.incrementAndGet(); // below
            }
        }
        String path = "/hyperplane/v1/execution-environments" + (waitForNodes ? "?waitForNodes=true" : "");
        return vni(answer(call("POST", path, registration, Duration.ofSeconds(15)), EnvironmentRegistered.class, "POST " + path).vni());
    }

    /** VNIs are 24 bits (RFC 7348 §5); one that is not is the control plane's bug, not a number to truncate. */
    private static int vni(long vni) {
        return Math.toIntExact(vni);
    }

    void deregisterEnvironment(String id) throws IOException, InterruptedException {
        try {
            call("DELETE", "/hyperplane/v1/execution-environments/" + id, null, Duration.ofSeconds(5));
        } catch (ControlException e) {
            if (e.status != 404) {
                throw e;
            }
        }
    }

    byte[] code(String account, String function, String version) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(control.resolve("/hyperplane/v1/code/" + account + "/" + function + "/"
                        + URLEncoder.encode(version, StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token).GET().build();
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new ControlException(response.statusCode(), null, "code of " + function + ":" + version + ": HTTP " + response.statusCode());
        }
        return response.body();
    }

    /** Legacy model: an ENI of the environment's own; throws ControlException with Lambda's error type on refusal. */
    LegacyEniCreated createLegacyEni(String account, String function, String subnetId, List<String> groups) throws IOException, InterruptedException {
        String path = "/hyperplane/v1/legacy-enis";
        return answer(call("POST", path, new LegacyEniRequest(account, function, subnetId, groups), Duration.ofSeconds(60)), LegacyEniCreated.class,
                "POST " + path);
    }

    void deleteLegacyEni(String eniId) throws IOException, InterruptedException {
        call("DELETE", "/hyperplane/v1/legacy-enis/" + eniId, null, Duration.ofSeconds(5));
    }
}
