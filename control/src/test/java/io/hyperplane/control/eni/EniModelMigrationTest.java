package io.hyperplane.control.eni;

import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

/**
 * A store made before ENIs had a model column (V9) reads the same after the upgrade: a legacy ENI,
 * once told apart by a '|' in its key, is legacy by its column and keyed by its own id; a shared
 * ENI keeps its key and is still found by it.
 */
@Timeout(60)
class EniModelMigrationTest {
    @TempDir
    Path dir;

    @Test
    void shouldTellLegacyEnisOfAnOlderStoreByTheirColumn() throws SQLException {
        String url = "jdbc:h2:file:" + dir.toAbsolutePath().resolve("hyperplane") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
        Flyway.configure().dataSource(url, "sa", "").locations("classpath:db/migration").target("9").load().migrate();
        try (Connection c = DriverManager.getConnection(url, "sa", "")) {
            Timestamp now = Timestamp.from(Instant.now());
            Sql.update(c, "INSERT INTO accounts (id, created_at) VALUES ('123456789012', ?)", now);
            String insert = "INSERT INTO network_interfaces (id, account_id, vpc_id, subnet_id, group_key, private_ip, mac, status, description,"
                    + " created_at) VALUES (?, '123456789012', 'vpc-1', 'subnet-1', ?, ?, ?, 'in-use', 'eni', ?)";
            Sql.update(c, insert, "eni-shared", "sg-a,sg-b", "10.0.1.4", "02:48:50:00:10:00", now);
            Sql.update(c, insert, "eni-legacy", "sg-a,sg-b|eni-legacy", "10.0.1.5", "02:48:50:00:10:01", now);
            for (String eni : List.of("eni-shared", "eni-legacy")) {
                for (String group : List.of("sg-a", "sg-b")) {
                    Sql.update(c, "INSERT INTO network_interface_groups (eni_id, group_id) VALUES (?, ?)", eni, group);
                }
            }
        }

        try (Database db = Database.embedded(dir)) {
            List<EniStore.Usage> enis = db.inTransaction(EniStore::usage);
            enis.sort(Comparator.comparing(EniStore.Usage::id));
            assertThat(enis).extracting(EniStore.Usage::id, EniStore.Usage::model)
                    .containsExactly(tuple("eni-legacy", EniModel.LEGACY),
                            tuple("eni-shared", EniModel.SHARED));
            List<String> legacyKey = db.inTransaction(c -> Sql.strings(c, "SELECT group_key FROM network_interfaces WHERE id = 'eni-legacy'"));
            assertThat(legacyKey).containsExactly("eni-legacy");
            Optional<String> shared = db.inTransaction(c -> EniStore.findShared(c, "123456789012", "subnet-1", new TreeSet<>(List.of("sg-b", "sg-a"))));
            assertThat(shared).contains("eni-shared");
            boolean sharedDeleted = db.inTransaction(c -> EniStore.deleteLegacyIfUnused(c, "eni-shared"));
            assertThat(sharedDeleted).as("a shared ENI is not the legacy model's").isFalse();
            boolean legacyDeleted = db.inTransaction(c -> EniStore.deleteLegacyIfUnused(c, "eni-legacy"));
            assertThat(legacyDeleted).isTrue();
            Optional<EniState> gone = db.inTransaction(c -> EniStore.state(c, "eni-legacy"));
            assertThat(gone).isEmpty();
            long groups = db.inTransaction(c -> Sql.count(c, "SELECT COUNT(*) FROM network_interface_groups WHERE eni_id = 'eni-legacy'"));
            assertThat(groups).isZero();
        }
    }
}
