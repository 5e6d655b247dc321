package io.hyperplane.node;

import io.hyperplane.config.ConfigStreamMessage;
import io.hyperplane.config.EnvironmentsDelta;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.SnapshotJson;
import io.hyperplane.dataplane.TestConfigs;
import io.hyperplane.dataplane.TestFrames;
import io.hyperplane.dataplane.counters.Counter;
import io.hyperplane.packet.TcpHeader;
import io.javalin.Javalin;
import io.javalin.http.UnauthorizedResponse;
import io.javalin.websocket.WsContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.hyperplane.dataplane.TestConfigs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The node on a control plane that has the configuration stream (a Javalin WebSocket standing in
 * for it): the whole snapshot first, then an environments delta applied on top and acknowledged,
 * and a delta on another version than the node runs making it reopen the stream with the version
 * it runs. No long poll is made while the stream is up.
 */
@Timeout(60)
class ConfigStreamNodeTest {
    private static final String HOST_VTEP = "127.0.0.2";

    @TempDir
    Path dir;
    private Javalin control;
    private ForwarderNode node;
    private DatagramSocket host;
    private final BlockingQueue<WsContext> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> openedAfter = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> fromNode = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> polls = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws IOException {
        control = Javalin.create(c -> {
            c.routes.wsBeforeUpgrade("/hyperplane/v1/nodes/{name}/stream", ctx -> {
                if (!"Bearer secret".equals(ctx.header("Authorization"))) {
                    throw new UnauthorizedResponse();
                }
            });
            c.routes.ws("/hyperplane/v1/nodes/{name}/stream", ws -> {
                ws.onConnect(ctx -> {
                    openedAfter.add(String.valueOf(ctx.queryParam("after")));
                    opened.add(ctx);
                });
                ws.onMessage(ctx -> fromNode.add(ctx.message()));
            });
            c.routes.get("/hyperplane/v1/nodes/{name}/config", ctx -> {
                polls.add(ctx.fullUrl());
                ctx.status(304);
            });
            c.routes.put("/hyperplane/v1/nodes/{name}", ctx -> ctx.result("{}"));
            c.routes.delete("/hyperplane/v1/nodes/{name}", ctx -> ctx.status(204));
        }).start("127.0.0.1", 0);
        Files.writeString(dir.resolve("token"), "secret\n");
        host = new DatagramSocket(new InetSocketAddress(HOST_VTEP, 4789));
    }

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
        control.stop();
        host.close();
    }

    private static NodeSnapshot snapshot(long version) {
        return TestConfigs.snapshot(version, TestConfigs.defaultAcl(), TestConfigs.defaultRoutes(), HOST_VTEP, "127.0.0.3");
    }

    private String next(BlockingQueue<String> queue) throws InterruptedException {
        String s = queue.poll(20, TimeUnit.SECONDS);
        assertThat(s).as("within 20 s").isNotNull();
        return s;
    }

    @Test
    void shouldApplyTheSnapshotThenADeltaAcknowledgeEachAndReopenOnADeltaForAnotherVersion() throws Exception {
        node = ForwarderNode.start(new NodeSettings().name("t1").listen("127.0.0.1:4789").controlUrl("http://127.0.0.1:" + control.port())
                .tokenFile(dir.resolve("token")).stateDir(dir.resolve("state")).underlayIp("198.18.0.1").flowCapacity(1 << 16)
                .controlWait(Duration.ofSeconds(2)));
        WsContext stream = opened.poll(20, TimeUnit.SECONDS);
        assertThat(stream).isNotNull();
        assertThat(next(openedAfter)).as("a node with nothing opens after -1").isEqualTo("-1");

        stream.send(ConfigStreamMessage.snapshot(SnapshotJson.write(snapshot(1))));
        assertThat(ConfigStreamMessage.parse(next(fromNode))).isEqualTo(new ConfigStreamMessage.Applied(1));
        await().atMost(Duration.ofSeconds(20)).until(() -> node.configVersion() == 1);

        // EE 1 goes: its traffic is from an unknown VNI from version 2 on.
        stream.send(ConfigStreamMessage.environments(new EnvironmentsDelta(1, 2, List.of(), List.of("ee-1"))));
        assertThat(ConfigStreamMessage.parse(next(fromNode))).isEqualTo(new ConfigStreamMessage.Applied(2));
        await().atMost(Duration.ofSeconds(20)).until(() -> node.configVersion() == 2);
        ByteBuffer syn = TestFrames.tcp(EE1_VNI, EE1_MAC, GATEWAY_MAC, EE1_IP, 40000, RES1, 5432, TcpHeader.SYN, 0);
        host.send(new DatagramPacket(syn.array(), syn.limit(), InetAddress.getByName("127.0.0.1"), 4789));
        await().atMost(Duration.ofSeconds(20)).until(() -> CountersFile.read(node.settings().countersFile()).get(Counter.DROP_UNKNOWN_VNI) == 1);
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> SnapshotJson.read(dir.resolve("state").resolve("snapshot.json")).version() == 2);

        // A delta on a version the node does not run: it reopens, saying what it runs.
        stream.send(ConfigStreamMessage.environments(new EnvironmentsDelta(7, 8, List.of(), List.of("ee-2"))));
        assertThat(opened.poll(20, TimeUnit.SECONDS)).as("reopened").isNotNull();
        assertThat(next(openedAfter)).isEqualTo("2");
        assertThat(node.configVersion()).isEqualTo(2);
        assertThat(polls).as("no long poll while the stream works").isEmpty();
    }

}
