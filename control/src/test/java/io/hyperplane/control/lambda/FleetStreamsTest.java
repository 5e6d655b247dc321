package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.ConfigStreamMessage;
import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.lambda.model.State;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * The fleet's WebSockets as a node and a worker speak them: a node's configuration stream starts
 * with the whole snapshot and carries a cold start's registration as an environments delta on
 * the version the node runs; the worker's registration is answered only once the node has
 * acknowledged it; bad requests are answered with 400 and change nothing; no token, no socket.
 */
@Timeout(90)
class FleetStreamsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private LambdaWorld w;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        w = new LambdaWorld(ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)));
    }

    @AfterEach
    void stop() {
        if (w != null) {
            w.close();
        }
        http.shutdownNow();
    }

    /** One end of a stream: every text message, in order. */
    private static final class Messages implements WebSocket.Listener {
        final BlockingQueue<String> received = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                received.add(partial.toString());
                partial.setLength(0);
            }
            ws.request(1);
            return null;
        }

        String next(long millis) throws InterruptedException {
            return received.poll(millis, TimeUnit.MILLISECONDS);
        }
    }

    private WebSocket open(String path, String token, Messages listener) {
        URI uri = URI.create(w.server.endpoint().toString().replaceFirst("^http", "ws") + path);
        return http.newWebSocketBuilder().header("Authorization", "Bearer " + token).buildAsync(uri, listener).join();
    }

    private static ConfigStreamMessage parse(String text) {
        assertThat(text).as("a message within the wait").isNotNull();
        return ConfigStreamMessage.parse(text);
    }

    @Test
    void shouldStreamARegistrationAsADeltaAndAnswerTheWorkerOnlyOnceTheNodeAcknowledgedIt() throws Exception {
        String vpc = w.vpc("10.0.0.0/16");
        String subnet = w.subnet(vpc, "10.0.1.0/24");
        String group = w.group(vpc, "fn");
        w.create("fn", w.vpcRole("fn-role"), List.of(subnet), List.of(group));

        // The node opens its stream with nothing and gets the whole snapshot; it acknowledges
        // every version until the function is Active (its ENI is programmed).
        Messages node = new Messages();
        WebSocket nodeSocket = open("/hyperplane/v1/nodes/n1/stream?after=-1", w.server.nodeToken(), node);
        NodeSnapshot running = ((ConfigStreamMessage.Snapshot) parse(node.next(10_000))).snapshot();
        w.heartbeat("n1", running.version());
        nodeSocket.sendText(ConfigStreamMessage.applied(running.version()), true).join();
        while (w.configuration("fn").state() != State.ACTIVE) {
            String text = node.next(200);
            if (text != null) {
                ConfigStreamMessage m = parse(text);
                running = m instanceof ConfigStreamMessage.Snapshot s ? s.snapshot() : ((ConfigStreamMessage.Environments) m).delta().applyTo(running);
                nodeSocket.sendText(ConfigStreamMessage.applied(running.version()), true).join();
            }
        }
        String eni = running.enis().getFirst().id();
        String drained;
        while ((drained = node.next(300)) != null) { // whatever else the function's creation published
            ConfigStreamMessage m = parse(drained);
            running = m instanceof ConfigStreamMessage.Snapshot s ? s.snapshot() : ((ConfigStreamMessage.Environments) m).delta().applyTo(running);
            nodeSocket.sendText(ConfigStreamMessage.applied(running.version()), true).join();
        }

        Messages worker = new Messages();
        WebSocket workerSocket = open("/hyperplane/v1/workers/w1/stream", w.server.nodeToken(), worker);

        // A slot prepared ahead (no ENI): answered at once, and nodes are sent nothing.
        workerSocket.sendText("{\"id\":1,\"register\":{\"id\":\"hp-ee-1\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\",\"mac\":\"02:ee:00:00:00:01\"}}", true).join();
        JsonNode slot = JSON.readTree(worker.next(10_000));
        assertThat(slot.path("id").asLong()).isEqualTo(1);
        assertThat(slot.path("status").asInt()).isEqualTo(201);
        int vni = slot.path("vni").asInt();
        assertThat(node.next(300)).as("a slot is nothing a node needs").isNull();

        // The cold start binds it to the ENI and waits for the nodes.
        workerSocket.sendText("{\"id\":2,\"waitForNodes\":true,\"register\":{\"id\":\"hp-ee-1\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\","
                + "\"mac\":\"02:ee:00:00:00:01\",\"eniId\":\"" + eni + "\"}}", true).join();
        EnvironmentsDelta delta = ((ConfigStreamMessage.Environments) parse(node.next(10_000))).delta();
        assertThat(delta.base()).as("a delta on the version the node runs").isEqualTo(running.version());
        assertThat(delta.put()).containsExactly(new NodeSnapshot.ExecutionEnvironment("hp-ee-1", vni, "198.18.0.2", "100.64.0.17", "02:ee:00:00:00:01", eni));
        assertThat(worker.next(500)).as("not answered before the node acknowledged").isNull();
        NodeSnapshot next = delta.applyTo(running);
        nodeSocket.sendText(ConfigStreamMessage.applied(next.version()), true).join();
        JsonNode bound = JSON.readTree(worker.next(10_000));
        assertThat(bound.path("id").asLong()).isEqualTo(2);
        assertThat(bound.path("status").asInt()).isEqualTo(201);
        assertThat(bound.path("vni").asInt()).isEqualTo(vni);
        assertThat(bound.path("configVersion").asLong()).isEqualTo(delta.version());

        // The delta gives what a node long-polling for the whole snapshot gets.
        HttpResponse<String> whole = w.node("GET", "/hyperplane/v1/nodes/n2/config?after=-1", null);
        assertThat(SnapshotJson.parse(whole.body())).isEqualTo(next);

        // A bad registration is answered 400 and changes nothing.
        workerSocket.sendText("{\"id\":3,\"waitForNodes\":true,\"register\":{\"id\":\"hp-ee-2\",\"hostIp\":\"nope\",\"ip\":\"100.64.0.18\","
                + "\"mac\":\"02:ee:00:00:00:02\",\"eniId\":\"" + eni + "\"}}", true).join();
        JsonNode refused = JSON.readTree(worker.next(10_000));
        assertThat(refused.path("status").asInt()).isEqualTo(400);
        assertThat(refused.path("message").asText()).contains("nope");
        workerSocket.sendText("{\"id\":4,\"register\":{\"id\":\"hp-ee-3\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.19\","
                + "\"mac\":\"02:ee:00:00:00:03\",\"eniId\":\"eni-nosuch\"}}", true).join();
        assertThat(JSON.readTree(worker.next(10_000)).path("message").asText()).contains("no such ENI 'eni-nosuch'");
        assertThat(node.next(300)).as("refused registrations publish nothing").isNull();

        // The environment going away is a delta that removes it.
        assertThat(w.node("DELETE", "/hyperplane/v1/execution-environments/hp-ee-1", null).statusCode()).isEqualTo(204);
        EnvironmentsDelta removal = ((ConfigStreamMessage.Environments) parse(node.next(10_000))).delta();
        assertThat(removal.base()).isEqualTo(next.version());
        assertThat(removal.remove()).containsExactly("hp-ee-1");
        assertThat(removal.applyTo(next).executionEnvironments()).isEmpty();

        // A node reopening on an old version gets the whole current snapshot, not a delta.
        Messages again = new Messages();
        open("/hyperplane/v1/nodes/n1/stream?after=" + running.version(), w.server.nodeToken(), again);
        assertThat(parse(again.next(10_000))).isInstanceOf(ConfigStreamMessage.Snapshot.class);
    }

    @Test
    void shouldRefuseASocketWithoutTheTokenAndCloseOnMessagesOutsideTheProtocol() throws Exception {
        Throwable noToken = catchThrowable(() -> open("/hyperplane/v1/nodes/n1/stream", "wrong", new Messages()));
        assertThat(noToken).isInstanceOf(CompletionException.class).hasCauseInstanceOf(WebSocketHandshakeException.class);
        assertThat(((WebSocketHandshakeException) noToken.getCause()).getResponse().statusCode()).isEqualTo(401);
        Throwable badWorker = catchThrowable(() -> open("/hyperplane/v1/workers/w1/stream", "wrong", new Messages()));
        assertThat(((WebSocketHandshakeException) badWorker.getCause()).getResponse().statusCode()).isEqualTo(401);
        Throwable badName = catchThrowable(() -> open("/hyperplane/v1/nodes/bad%20name/stream", w.server.nodeToken(), new Messages()));
        assertThat(((WebSocketHandshakeException) badName.getCause()).getResponse().statusCode()).isEqualTo(400);

        Messages node = new Messages();
        WebSocket socket = open("/hyperplane/v1/nodes/n1/stream", w.server.nodeToken(), node);
        assertThat(parse(node.next(10_000))).isInstanceOf(ConfigStreamMessage.Snapshot.class);
        socket.sendText("{\"type\":\"snapshot\",\"snapshot\":{}}", true).join();
        await().atMost(Duration.ofSeconds(10)).until(socket::isInputClosed);
    }
}
