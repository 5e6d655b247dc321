package io.hyperplane.control.lambda;

import io.hyperplane.control.lambda.EventInvokeConfigStore.Row;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link EventInvokeConfigStore} on a real, migrated store: run on embedded H2
 * ({@link EventInvokeConfigStoreH2Test}) and on PostgreSQL ({@link EventInvokeConfigStorePostgresTest}).
 */
@Timeout(60)
abstract class EventInvokeConfigStoreContract {
    private static final String ACCOUNT = "111111111111";
    private static final String OTHER_ACCOUNT = "222222222222";
    private static final Instant T0 = Instant.parse("2026-12-07T10:00:00.123Z");
    private static final Instant T1 = Instant.parse("2026-12-07T10:05:00.456Z");
    private static final String DESTINATION = "arn:aws:lambda:us-east-1:111111111111:function:sink";

    Database db;

    /** A fresh, migrated store. */
    abstract Database open() throws Exception;

    @BeforeEach
    void start() throws Exception {
        db = open();
        db.inTransaction(c -> {
            for (String account : new String[] {ACCOUNT, OTHER_ACCOUNT}) {
                Sql.update(c, "INSERT INTO accounts (id, created_at) VALUES (?, ?)", account, Timestamp.from(T0));
            }
            function(c, ACCOUNT, "fn", "$LATEST", "1", "2", "10");
            function(c, OTHER_ACCOUNT, "fn", "$LATEST");
            return null;
        });
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private static void function(Connection c, String account, String name, String... versions) throws SQLException {
        Sql.update(c, "INSERT INTO functions (account_id, name, state, last_update_status, last_invoked_at, next_version, created_at)"
                + " VALUES (?, ?, 'Active', 'Successful', ?, ?, ?)", account, name, Timestamp.from(T0), versions.length, Timestamp.from(T0));
        for (String version : versions) {
            Sql.update(c, "INSERT INTO function_versions (account_id, function_name, version, role, description, timeout_seconds, memory_mb,"
                            + " code_base64, code_sha256, code_size, subnet_ids, security_group_ids, revision_id, last_modified)"
                            + " VALUES (?, ?, ?, 'arn:aws:iam::111111111111:role/r', '', 3, 128, '', 'sha', 0, '', '', 'rev', ?)",
                    account, name, version, Timestamp.from(T0));
        }
    }

    private void put(String account, String qualifier, Integer retries, Integer age, String onSuccess, String onFailure, Instant at) {
        db.inTransaction(c -> {
            EventInvokeConfigStore.put(c, account, "fn", new Row(qualifier, retries, age, onSuccess, onFailure, at));
            return null;
        });
    }

    private Optional<Row> get(String account, String qualifier) {
        return db.inTransaction(c -> EventInvokeConfigStore.get(c, account, "fn", qualifier));
    }

    private List<Row> list(String account) {
        return db.inTransaction(c -> EventInvokeConfigStore.list(c, account, "fn"));
    }

    private boolean delete(String qualifier) {
        return db.inTransaction(c -> EventInvokeConfigStore.delete(c, ACCOUNT, "fn", qualifier));
    }

    @Test
    void shouldGiveLambdasDefaultsToAQualifierWithoutAConfiguration() {
        EventInvokeConfig effective = db.inTransaction(c -> EventInvokeConfigStore.effective(c, ACCOUNT, "fn", "$LATEST"));

        assertThat(effective).isEqualTo(EventInvokeConfig.defaults(ACCOUNT, "fn", "$LATEST"));
        Optional<EventInvokeConfig> found = db.inTransaction(c -> EventInvokeConfigStore.find(c, ACCOUNT, "fn", "$LATEST"));
        assertThat(found).isEmpty();
    }

    @Test
    void shouldKeepWhatWasSetAndFillInTheDefaultsForTheQueue() {
        put(ACCOUNT, "$LATEST", 0, null, null, DESTINATION, T0);

        assertThat(get(ACCOUNT, "$LATEST")).contains(new Row("$LATEST", 0, null, null, DESTINATION, T0));
        EventInvokeConfig effective = db.inTransaction(c -> EventInvokeConfigStore.effective(c, ACCOUNT, "fn", "$LATEST"));
        assertThat(effective).isEqualTo(new EventInvokeConfig(ACCOUNT, "fn", "$LATEST", 0, EventInvokeConfig.DEFAULT_EVENT_AGE_SECONDS, null,
                DESTINATION, T0));
    }

    @Test
    void shouldReplaceTheWholeConfigurationOnPut() {
        put(ACCOUNT, "$LATEST", 2, 60, DESTINATION, null, T0);
        put(ACCOUNT, "$LATEST", 0, null, null, null, T1);

        assertThat(get(ACCOUNT, "$LATEST")).contains(new Row("$LATEST", 0, null, null, null, T1));
    }

    @Test
    void shouldMergeAnUpdateIntoTheExistingConfigurationOnly() {
        Optional<Row> none = db.inTransaction(c -> EventInvokeConfigStore.update(c, ACCOUNT, "fn", "$LATEST",
                existing -> new Row("$LATEST", 1, null, null, null, T1)));
        assertThat(none).as("no configuration to update").isEmpty();
        assertThat(get(ACCOUNT, "$LATEST")).isEmpty();

        put(ACCOUNT, "$LATEST", 2, 60, DESTINATION, null, T0);
        Optional<Row> merged = db.inTransaction(c -> EventInvokeConfigStore.update(c, ACCOUNT, "fn", "$LATEST",
                existing -> new Row(existing.qualifier(), 0, existing.maximumEventAgeInSeconds(), existing.onSuccess(), existing.onFailure(), T1)));

        assertThat(merged).contains(new Row("$LATEST", 0, 60, DESTINATION, null, T1));
        assertThat(get(ACCOUNT, "$LATEST")).isEqualTo(merged);
    }

    @Test
    void shouldListLatestFirstThenVersionsByNumber() {
        put(ACCOUNT, "10", 1, null, null, null, T0);
        put(ACCOUNT, "2", 1, null, null, null, T0);
        put(ACCOUNT, "$LATEST", 1, null, null, null, T0);
        put(ACCOUNT, "1", 1, null, null, null, T0);
        put(OTHER_ACCOUNT, "$LATEST", 0, null, null, null, T0);

        assertThat(list(ACCOUNT)).extracting(Row::qualifier)
                .containsExactly("$LATEST", "1", "2", "10");
        assertThat(list(OTHER_ACCOUNT)).extracting(Row::maximumRetryAttempts)
                .as("another account's function of the same name keeps its own").containsExactly(0);
    }

    @Test
    void shouldDeleteOneQualifiersConfiguration() {
        put(ACCOUNT, "$LATEST", 1, null, null, null, T0);
        put(ACCOUNT, "1", 1, null, null, null, T0);

        assertThat(delete("1")).isTrue();
        assertThat(delete("1")).as("already gone").isFalse();
        assertThat(get(ACCOUNT, "$LATEST")).isPresent();
    }

    @Test
    void shouldGoWithTheVersionAndWithTheFunction() {
        put(ACCOUNT, "$LATEST", 1, null, null, null, T0);
        put(ACCOUNT, "1", 1, null, null, null, T0);
        put(ACCOUNT, "2", 1, null, null, null, T0);
        put(OTHER_ACCOUNT, "$LATEST", 1, null, null, null, T0);

        db.inTransaction(c -> VersionStore.delete(c, ACCOUNT, "fn", "1"));
        assertThat(get(ACCOUNT, "1")).isEmpty();
        assertThat(get(ACCOUNT, "2")).isPresent();

        db.inTransaction(c -> {
            FunctionStore.delete(c, ACCOUNT, "fn");
            return null;
        });
        assertThat(list(ACCOUNT)).isEmpty();
        assertThat(get(OTHER_ACCOUNT, "$LATEST")).as("another account's function is untouched").isPresent();
    }
}
