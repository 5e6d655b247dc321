package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.control.server.ControlPlaneServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code hyperplane events}: the store's counts of asynchronous invocations, per function of the caller's account. */
@Timeout(60)
class EventsCommandTest {
    @TempDir
    Path dir;
    private ControlPlaneServer server;

    @BeforeEach
    void start() throws Exception {
        server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String run(String... args) {
        return AgainstServer.run(server, args);
    }

    /** What the queue leaves in the store (the embedded H2 file, opened in this process): a function's counts and one waiting event. */
    private void store(String account) throws Exception {
        try (Connection c = DriverManager.getConnection(server.databaseUrl(), "sa", "")) {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO event_invocation_counts (account_id, function_name, succeeded, retried,"
                    + " dead, redelivered) VALUES (?, 'orders', 5, 2, 1, 0)")) {
                s.setString(1, account);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("INSERT INTO event_invocations (request_id, account_id, region, function_name, qualifier,"
                    + " payload, state, attempts, function_errors, system_failures, claims, enqueued_at, due_at)"
                    + " VALUES ('r-1', ?, 'us-east-1', 'orders', '$LATEST', ?, 'queued', 0, 0, 0, 0, 0, ?)")) {
                s.setString(1, account);
                s.setBytes(2, "{}".getBytes(StandardCharsets.UTF_8));
                s.setLong(3, Long.MAX_VALUE / 2); // not due: it stays queued while the test reads it
                s.executeUpdate();
            }
        }
    }

    @Test
    void shouldSaySoWhenThereAreNoEvents() {
        assertThat(run("events")).contains("no asynchronous invocations yet");
    }

    @Test
    void shouldPrintEachFunctionsCounts() throws Exception {
        store(server.defaultCredential().accountId());
        String table = run("events");
        assertThat(table.lines().findFirst().orElseThrow()).contains("FUNCTION", "QUEUED", "IN-FLIGHT", "SUCCEEDED", "RETRIED", "DEAD", "REDELIVERED");
        assertThat(table.lines().skip(1).findFirst().orElseThrow().split("\\s+")).containsExactly("orders", "1", "0", "5", "2", "1", "0");
        JsonNode json = new ObjectMapper().readTree(run("events", "--json"));
        assertThat(json.path("Functions").get(0).path("FunctionName").asText()).isEqualTo("orders");
        assertThat(json.path("Functions").get(0).path("Queued").asLong()).isEqualTo(1);
        assertThat(json.path("Functions").get(0).path("Dead").asLong()).isEqualTo(1);
    }

    @Test
    void shouldShowOnlyTheCallersAccount() throws Exception {
        store("999999999999");
        assertThat(run("events")).contains("no asynchronous invocations yet");
    }
}
