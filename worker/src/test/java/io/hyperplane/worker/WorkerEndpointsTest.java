package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.fleet.FleetJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The worker's endpoints on a real loopback port, spoken to as the control plane does, over a recording handler. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WorkerEndpointsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "s3cret";
    private static final String INVOCATION = """
            {"requestId":"r-1","accountId":"123456789012","region":"us-east-1","functionName":"fn","version":"$LATEST",
             "functionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn","runtime":"python3.12","handler":"app.handler",
             "memoryMb":128,"timeoutSeconds":3,"ephemeralStorageMb":512,"codeSha256":"c2hh","revisionId":"rev-1","payload":"e30=","environment":{},"subnets":[],
             "nameserver":"192.0.2.2"}
            """;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final List<FunctionCall> invoked = Collections.synchronizedList(new ArrayList<>());
    private final List<String> evicted = Collections.synchronizedList(new ArrayList<>());
    private volatile InvocationEnd result = new InvocationEnd.Failed("ServiceException", 500, "unset");
    private volatile RuntimeException failure;
    private WorkerEndpoints endpoints;

    @BeforeEach
    void start() throws Exception {
        endpoints = WorkerEndpoints.bind(TOKEN);
        endpoints.start(new WorkerEndpoints.Handler() {
            @Override
            public InvocationEnd invoke(FunctionCall call) {
                invoked.add(call);
                if (failure != null) {
                    throw failure;
                }
                return result;
            }

            @Override
            public int evict(String functionPrefix) {
                evicted.add(functionPrefix);
                return 2;
            }

            @Override
            public JsonNode metrics() {
                return JSON.createObjectNode().put("environments", 4);
            }
        });
    }

    @AfterEach
    void stop() {
        endpoints.close();
    }

    @Test
    void shouldRunAnInvocationAndAnswerItsResult() throws Exception {
        result = new InvocationEnd.InitFailed("{}".getBytes(StandardCharsets.UTF_8), "log\n");

        HttpResponse<String> answer = post("/invoke", "Bearer " + TOKEN, INVOCATION);

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(answer.body()).isEqualTo(FleetJson.encode(WorkerWire.writeResult(result)));
        assertThat(invoked).singleElement().satisfies(call -> {
            assertThat(call.requestId()).isEqualTo("r-1");
            assertThat(call.function().environmentKey()).isEqualTo("123456789012/fn/$LATEST/rev-1/eni-hyperplane-egress");
        });
    }

    @Test
    void shouldRefuseAnyoneWithoutTheControlPlanesToken() throws Exception {
        HttpResponse<String> none = send(HttpRequest.newBuilder(endpoints.url().resolve("/invoke"))
                .POST(HttpRequest.BodyPublishers.ofString(INVOCATION)).build());
        HttpResponse<String> wrong = post("/invoke", "Bearer s3cre", INVOCATION);
        HttpResponse<String> evict = post("/evict", "Bearer nope", "{\"accountId\":\"123456789012\",\"functionName\":\"fn\"}");

        for (HttpResponse<String> refused : List.of(none, wrong, evict)) {
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(refused.body()).isEqualTo("{\"message\":\"missing or wrong bearer token\"}");
        }
        assertThat(invoked).isEmpty();
        assertThat(evicted).isEmpty();
    }

    @Test
    void shouldTakeInvocationsOnlyAsPosts() throws Exception {
        HttpResponse<String> get = send(HttpRequest.newBuilder(endpoints.url().resolve("/invoke")).header("Authorization", "Bearer " + TOKEN)
                .GET().build());

        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.body()).isEqualTo("{\"message\":\"POST only\"}");
    }

    @Test
    void shouldAnswer500WithTheMessageWhenRunningTheInvocationFails() throws Exception {
        failure = new IllegalStateException("no uid left");

        HttpResponse<String> answer = post("/invoke", "Bearer " + TOKEN, INVOCATION);

        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(answer.body()).isEqualTo("{\"message\":\"no uid left\"}");
    }

    @Test
    void shouldAnswer400SayingWhatIsWrongWithABodyThatIsNoInvokeRequest() throws Exception {
        HttpResponse<String> answer = post("/invoke", "Bearer " + TOKEN, INVOCATION.replace("\"ephemeralStorageMb\":512,", ""));
        HttpResponse<String> garbage = post("/invoke", "Bearer " + TOKEN, "not json");

        for (HttpResponse<String> refused : List.of(answer, garbage)) {
            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(refused.body()).startsWith("{\"message\":\"InvokeRequest: ");
        }
        assertThat(answer.body()).contains("ephemeralStorageMb");
        assertThat(invoked).isEmpty();
    }

    @Test
    void shouldAnswer400ToAnEvictionThatNamesNoFunction() throws Exception {
        HttpResponse<String> answer = post("/evict", "Bearer " + TOKEN, "{\"accountId\":\"123456789012\"}");

        assertThat(answer.statusCode()).isEqualTo(400);
        assertThat(answer.body()).contains("functionName");
        assertThat(evicted).isEmpty();
    }

    @Test
    void shouldEvictADeletedFunctionAndSayHowManyEnded() throws Exception {
        HttpResponse<String> answer = post("/evict", "Bearer " + TOKEN, "{\"accountId\":\"123456789012\",\"functionName\":\"fn\"}");

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).isEqualTo("{\"ended\":2}");
        assertThat(evicted).containsExactly("123456789012/fn/");
    }

    @Test
    void shouldServeMetricsWithoutAToken() throws Exception {
        HttpResponse<String> answer = send(HttpRequest.newBuilder(endpoints.url().resolve("/metrics")).GET().build());

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).isEqualTo("{\"environments\":4}");
    }

    @Test
    void shouldServeOnLoopback() {
        assertThat(endpoints.url().getHost()).isEqualTo("127.0.0.1");
        assertThat(endpoints.url().getPort()).isPositive();
    }

    private HttpResponse<String> post(String path, String authorization, String body) throws Exception {
        return send(HttpRequest.newBuilder(endpoints.url().resolve(path)).header("Authorization", authorization)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private HttpResponse<String> send(HttpRequest request) throws Exception {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
