package io.hyperplane.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal Lambda REST client for the project's own tools (bench, demo): JSON calls and Invoke,
 * signed with SigV4 exactly as the AWS SDKs sign them. Thread-safe.
 */
public final class LambdaHttpClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String REGION = "us-east-1";

    /** An HTTP answer: status, headers the caller may need, body. */
    public record Answer(int status, String errorType, String functionError, String logTail, String body) {
        public Answer {
            if (errorType != null && errorType.contains(":")) {
                errorType = errorType.substring(0, errorType.indexOf(':'));
            }
        }

        public boolean ok() {
            return status / 100 == 2 && functionError == null;
        }

        /** The base64 log tail (X-Amz-Log-Result) decoded, or "". */
        public String log() {
            return logTail == null ? "" : new String(Base64.getDecoder().decode(logTail), StandardCharsets.UTF_8);
        }
    }

    private final URI endpoint;
    private final Credential credential;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    public LambdaHttpClient(URI endpoint, Credential credential) {
        this.endpoint = endpoint;
        this.credential = credential;
    }

    public Answer call(String method, String path, String json) throws IOException, InterruptedException {
        return send(method, path, json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /** Invoke (RequestResponse) with the log tail requested. */
    public Answer invoke(String function, String payload) throws IOException, InterruptedException {
        return invoke(function, payload, Map.of());
    }

    /** Invoke with extra headers (e.g. X-Hyperplane-Network-Model: legacy). */
    public Answer invoke(String function, String payload, Map<String, String> headers) throws IOException, InterruptedException {
        Map<String, String> all = new LinkedHashMap<>(headers);
        all.put("X-Amz-Log-Type", "Tail");
        return send("POST", "/2015-03-31/functions/" + URLEncoder.encode(function, StandardCharsets.UTF_8) + "/invocations",
                payload.getBytes(StandardCharsets.UTF_8), all);
    }

    /** Polls GetFunctionConfiguration until State is Active (or Failed, which throws). */
    public JsonNode awaitActive(String function, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Answer a = call("GET", "/2015-03-31/functions/" + function + "/configuration", null);
            JsonNode config = JSON.readTree(a.body());
            String state = config.path("State").asText();
            if (state.equals("Active") && !config.path("LastUpdateStatus").asText().equals("InProgress")) {
                return config;
            }
            if (state.equals("Failed")) {
                throw new IOException("function " + function + " failed: " + config.path("StateReasonCode").asText() + " "
                        + config.path("StateReason").asText());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("function " + function + " still " + state + " after " + timeout.toSeconds() + " s");
            }
            Thread.sleep(20);
        }
    }

    private Answer send(String method, String path, byte[] body, Map<String, String> extra) throws IOException, InterruptedException {
        String host = endpoint.getHost() + (endpoint.getPort() > 0 ? ":" + endpoint.getPort() : "");
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", host);
        headers.put("Content-Type", "application/json");
        headers.putAll(extra);
        int q = path.indexOf('?');
        String rawPath = q < 0 ? path : path.substring(0, q);
        String rawQuery = q < 0 ? null : path.substring(q + 1);
        Map<String, String> auth = SigV4Signer.sign(method, rawPath, rawQuery, headers, body, credential, REGION, "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve(path)).timeout(Duration.ofSeconds(300))
                .method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("Host")) {
                request.header(k, v);
            }
        });
        auth.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), response.headers().firstValue("X-Amzn-ErrorType").orElse(null),
                response.headers().firstValue("X-Amz-Function-Error").orElse(null), response.headers().firstValue("X-Amz-Log-Result").orElse(null),
                response.body());
    }
}
