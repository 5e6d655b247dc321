package io.hyperplane.worker;

import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.runtime.RuntimeApiServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Runtime API's connection limit as the kernel keeps it: the worker's own table loaded into a real network
 * namespace, the Runtime API listening inside as the worker starts it, clients connecting from inside as a
 * function would. Needs root; the namespace is deleted by its exact name however the test ends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RuntimeApiConnectionLimitTest {
    private static final String NAMESPACE = "hp-rapi-test";
    private static final InetSocketAddress RUNTIME_API = new InetSocketAddress("127.0.0.1", ExecutionEnvironment.RUNTIME_API_PORT);
    private static final int CONNECT_TIMEOUT_MS = 5_000;

    private final List<Socket> clients = new ArrayList<>();
    private RuntimeApiServer api;

    /** How a round of connection attempts went: the sockets connected, and how many attempts were refused. */
    private record Attempts(List<Socket> connected, int refused) {
    }

    @BeforeEach
    void makeNamespace() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "making a network namespace needs root");
        Namespaces.delete(NAMESPACE); // left by a run that was killed
        Namespaces.add(NAMESPACE);
        EnvironmentNetwork.batch(NAMESPACE, List.of("link set lo up"));
        RuntimeApiConnectionLimit.load(NAMESPACE);
    }

    @AfterEach
    void deleteNamespace() throws IOException {
        for (Socket client : clients) {
            client.close();
        }
        if (api != null) {
            api.close();
        }
        if (Files.exists(Path.of("/run/netns", NAMESPACE))) {
            Namespaces.delete(NAMESPACE);
        }
    }

    @Test
    void shouldResetConnectionsBeyondSixteenAndAdmitNewOnesAsOthersClose() throws Exception {
        api = NetworkNamespace.call(NAMESPACE, () -> RuntimeApiServer.start(RUNTIME_API));

        Attempts first = connect(RUNTIME_API, 40);
        assertThat(first.connected()).hasSize(RuntimeApiConnectionLimit.MAX_CONNECTIONS);
        assertThat(first.refused()).isEqualTo(40 - RuntimeApiConnectionLimit.MAX_CONNECTIONS);
        assertThat(refusedCount()).isEqualTo(first.refused());

        // Four go; as the server closes its ends, four places are free again, and no more than four.
        for (Socket gone : first.connected().subList(0, 4)) {
            gone.close();
        }
        List<Socket> admitted = new ArrayList<>();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            admitted.addAll(connect(RUNTIME_API, 1).connected());
            return admitted.size() == 4;
        });
        assertThat(connect(RUNTIME_API, 1).refused()).isEqualTo(1);

        // A new connection is served as any other.
        Socket late = admitted.getFirst();
        late.getOutputStream().write("GET /2018-06-01/runtime/nowhere HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String statusLine = new String(late.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        assertThat(statusLine).isEqualTo("HTTP/1.1 404");
    }

    @Test
    void shouldLeaveTheFunctionsOtherConnectionsUnlimitedAndUntracked() throws Exception {
        InetSocketAddress other = new InetSocketAddress("127.0.0.1", 9002);
        ServerSocket listener = NetworkNamespace.call(NAMESPACE, () -> new ServerSocket(other.getPort(), 64, other.getAddress()));
        try (listener) {
            Attempts attempts = connect(other, 40);
            assertThat(attempts.connected()).hasSize(40);
            assertThat(run("cat", "/proc/sys/net/netfilter/nf_conntrack_count").strip()).isEqualTo("0");
        }
        assertThat(refusedCount()).isZero();
    }

    /** {@code n} attempts to connect to {@code address} from inside the namespace, one after another. */
    private Attempts connect(InetSocketAddress address, int n) throws IOException {
        Attempts attempts = NetworkNamespace.call(NAMESPACE, () -> {
            List<Socket> connected = new ArrayList<>();
            int refused = 0;
            for (int i = 0; i < n; i++) {
                Socket socket = new Socket();
                try {
                    socket.connect(address, CONNECT_TIMEOUT_MS);
                    socket.setSoTimeout(CONNECT_TIMEOUT_MS);
                    connected.add(socket);
                } catch (ConnectException reset) {
                    socket.close();
                    refused++;
                }
            }
            return new Attempts(connected, refused);
        });
        clients.addAll(attempts.connected());
        return attempts;
    }

    /** The table's count of refused connections. */
    private static long refusedCount() {
        String listing = run("nft", "list", "counter", "inet", RuntimeApiConnectionLimit.TABLE, "refused");
        int at = listing.indexOf("packets ") + "packets ".length();
        return Long.parseLong(listing.substring(at, listing.indexOf(' ', at)));
    }

    private static String run(String... command) {
        return Commands.check(Namespaces.execIn(NAMESPACE, List.of(command))).stdout();
    }
}
