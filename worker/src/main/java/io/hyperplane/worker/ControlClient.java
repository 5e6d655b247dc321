package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** The worker's side of the fleet API (bearer token): heartbeats, environments, code, legacy ENIs. */
final class ControlClient {
    private static final ObjectMapper JSON = new ObjectMapper();

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
    final java.util.concurrent.atomic.AtomicLong registeredOverStream = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong registeredOverHttp = new java.util.concurrent.atomic.AtomicLong();

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

    private JsonNode call(String method, String path, String body, Duration timeout) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(control.resolve(path)).timeout(timeout).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        JsonNode json = response.body().isEmpty() ? JSON.createObjectNode() : parse(response.body());
        if (response.statusCode() / 100 != 2) {
            throw new ControlException(response.statusCode(), json.path("errorType").asText(null),
                    method + " " + path + ": HTTP " + response.statusCode() + " " + json.path("message").asText(response.body()));
        }
        return json;
    }

    private static JsonNode parse(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode().put("message", body);
        }
    }

    /** Registers or refreshes the worker; returns the live forwarder nodes' underlay addresses. */
    List<String> heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("url", url.toString()).put("underlayIp", underlayIp).put("networkModel", networkModel)
                .put("environments", environments);
        JsonNode answer = call("PUT", "/hyperplane/v1/workers/" + name, body.toString(), Duration.ofSeconds(5));
        return java.util.stream.StreamSupport.stream(answer.path("nodes").spliterator(), false).map(n -> n.path("underlayIp").asText()).toList();
    }

    void leave(String name) throws IOException, InterruptedException {
        call("DELETE", "/hyperplane/v1/workers/" + name, null, Duration.ofSeconds(2));
    }

    /**
     * Registers an environment (without an ENI: a slot prepared ahead) and returns its VNI; with
     * {@code waitForNodes}, only once every live node runs a configuration that has it.
     */
    int registerEnvironment(String id, String hostIp, String ip, String mac, String eniId, boolean waitForNodes) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("id", id).put("hostIp", hostIp).put("ip", ip).put("mac", mac);
        if (eniId != null) {
            body.put("eniId", eniId);
        }
        if (waitForNodes) {
            // A cold start waits for this: over the control stream when there is one (a message each
            // way on an open socket), else over HTTP. Registering again is harmless, so a stream that
            // drops mid-request falls back too.
            ObjectNode request = JSON.createObjectNode().put("waitForNodes", true);
            request.set("register", body);
            try {
                JsonNode answer = stream.request(request, Duration.ofSeconds(15));
                int status = answer.path("status").asInt(500);
                if (status / 100 != 2) {
                    throw new ControlException(status, null, "registering environment " + id + ": " + status + " " + answer.path("message").asText());
                }
                registeredOverStream.incrementAndGet();
                return answer.path("vni").asInt();
            } catch (ControlStream.Unavailable e) {
                registeredOverHttp.incrementAndGet(); // below
            }
        }
        return call("POST", "/hyperplane/v1/execution-environments" + (waitForNodes ? "?waitForNodes=true" : ""), body.toString(),
                Duration.ofSeconds(15)).path("vni").asInt();
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
                        + java.net.URLEncoder.encode(version, java.nio.charset.StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token).GET().build();
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new ControlException(response.statusCode(), null, "code of " + function + ":" + version + ": HTTP " + response.statusCode());
        }
        return response.body();
    }

    /** Legacy model: an ENI of the environment's own; throws ControlException with Lambda's error type on refusal. */
    JsonNode createLegacyEni(String account, String function, String subnetId, List<String> groups) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("accountId", account).put("functionName", function).put("subnetId", subnetId);
        groups.forEach(body.putArray("securityGroupIds")::add);
        return call("POST", "/hyperplane/v1/legacy-enis", body.toString(), Duration.ofSeconds(60));
    }

    void deleteLegacyEni(String eniId) throws IOException, InterruptedException {
        call("DELETE", "/hyperplane/v1/legacy-enis/" + eniId, null, Duration.ofSeconds(5));
    }
}
