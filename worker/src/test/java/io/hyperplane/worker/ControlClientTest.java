package io.hyperplane.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.hyperplane.config.fleet.EnvironmentRegistered;
import io.hyperplane.config.fleet.EnvironmentRegistration;
import io.hyperplane.config.fleet.FleetError;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.LegacyEniCreated;
import io.hyperplane.config.fleet.LegacyEniRequest;
import io.hyperplane.config.fleet.WorkerHeartbeat;
import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The worker's side of the fleet API against a fake control plane that speaks the fleet's records:
 * what the worker sends decodes as the control plane reads it, answers and refusals come back as
 * values. The fake has no WebSocket, so registrations fall back to HTTP as they do against such a
 * control plane.
 */
@Timeout(30)
class ControlClientTest {
    private static final String TOKEN = "t0ken";

    /** One request as the fake control plane received it. */
    private record Received(String method, String path, String authorization, String body) {
    }

    /** What the fake answers next: a status and a fleet message. */
    private record Answer(int status, Object message) {
    }

    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
    private HttpServer server;
    private ControlClient client;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::serve);
        server.start();
        client = new ControlClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), TOKEN, "w1");
    }

    @AfterEach
    void stop() {
        client.closeStream();
        server.stop(0);
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().toString(),
                    exchange.getRequestHeaders().getFirst("Authorization"), new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
            if (exchange.getRequestURI().getPath().endsWith("/stream")) {
                exchange.sendResponseHeaders(404, -1); // no WebSocket here
                return;
            }
            Answer answer = answers.poll();
            if (answer == null || answer.message() == null) {
                exchange.sendResponseHeaders(answer == null ? 204 : answer.status(), -1);
                return;
            }
            byte[] body = FleetJson.encode(answer.message()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(answer.status(), body.length);
            exchange.getResponseBody().write(body);
        }
    }

    private Received next() throws InterruptedException {
        Received r = received.poll(10, TimeUnit.SECONDS);
        assertThat(r).as("a request within the wait").isNotNull();
        return r;
    }

    @Test
    void shouldSendTheHeartbeatAsARecordAndReturnTheLiveNodes() throws Exception {
        answers.add(new Answer(200, new WorkerHeartbeatAnswer(List.of(new WorkerHeartbeatAnswer.LiveNode("n1", "198.18.0.9", 4789)))));

        WorkerHeartbeatAnswer answer = client.heartbeat("w1", URI.create("http://127.0.0.1:4000"), "198.18.0.11", "shared", 3);

        assertThat(answer.nodes()).extracting(WorkerHeartbeatAnswer.LiveNode::underlayIp).containsExactly("198.18.0.9");
        Received r = next();
        assertThat(r.method() + " " + r.path()).isEqualTo("PUT /hyperplane/v1/workers/w1");
        assertThat(r.authorization()).isEqualTo("Bearer " + TOKEN);
        assertThat(FleetJson.decode(r.body(), WorkerHeartbeat.class))
                .isEqualTo(new WorkerHeartbeat(URI.create("http://127.0.0.1:4000"), "198.18.0.11", "shared", 3));
    }

    @Test
    void shouldRegisterOverHttpWhenThereIsNoStreamAndReturnTheVni() throws Exception {
        answers.add(new Answer(201, new EnvironmentRegistered("hp-ee-w1-1", 5001, 7)));

        int vni = client.registerEnvironment("hp-ee-w1-1", "198.18.0.11", "100.64.0.17", "02:ee:00:00:00:01", "eni-1", true);

        assertThat(vni).isEqualTo(5001);
        assertThat(next().path()).as("the stream first").isEqualTo("/hyperplane/v1/workers/w1/stream");
        Received r = next();
        assertThat(r.method() + " " + r.path()).isEqualTo("POST /hyperplane/v1/execution-environments?waitForNodes=true");
        assertThat(FleetJson.decode(r.body(), EnvironmentRegistration.class))
                .isEqualTo(new EnvironmentRegistration("hp-ee-w1-1", "198.18.0.11", "100.64.0.17", "02:ee:00:00:00:01", "eni-1"));
        assertThat(client.registeredOverHttp.get()).isEqualTo(1);
    }

    @Test
    void shouldTurnARefusalIntoAControlExceptionWithItsStatusAndErrorType() throws Exception {
        answers.add(new Answer(502, new FleetError("EC2ThrottledException", "Lambda was throttled by Amazon EC2")));

        ControlClient.ControlException refused = catchThrowableOfType(ControlClient.ControlException.class,
                () -> client.createLegacyEni("123456789012", "fn", "subnet-1", List.of("sg-1")));

        assertThat(refused.status).isEqualTo(502);
        assertThat(refused.errorType).isEqualTo("EC2ThrottledException");
        assertThat(refused).hasMessageContaining("Lambda was throttled by Amazon EC2");
        assertThat(FleetJson.decode(next().body(), LegacyEniRequest.class))
                .isEqualTo(new LegacyEniRequest("123456789012", "fn", "subnet-1", List.of("sg-1")));
    }

    @Test
    void shouldReturnTheLegacyEniAsCreated() throws Exception {
        answers.add(new Answer(201, new LegacyEniCreated("eni-9", "10.0.1.9", true, 3012)));

        assertThat(client.createLegacyEni("123456789012", "fn", "subnet-1", List.of("sg-1")))
                .isEqualTo(new LegacyEniCreated("eni-9", "10.0.1.9", true, 3012));
    }

    @Test
    void shouldReportAnAnswerThatIsNoFleetMessageAsAnIoFailure() {
        answers.add(new Answer(200, FleetError.of("not a heartbeat answer")));

        IOException failed = catchThrowableOfType(IOException.class,
                () -> client.heartbeat("w1", URI.create("http://127.0.0.1:4000"), "198.18.0.11", "shared", 0));

        assertThat(failed).hasMessageContaining("PUT /hyperplane/v1/workers/w1").hasMessageContaining("WorkerHeartbeatAnswer");
    }
}
