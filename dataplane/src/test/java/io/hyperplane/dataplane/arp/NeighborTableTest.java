package io.hyperplane.dataplane.arp;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class NeighborTableTest {
    private static final int TTL = 60;

    @Test
    void shouldKeepLearningAsHundredThousandDistinctSendersComeAndGo() {
        NeighborTable table = new NeighborTable(16_384, 16_384, TTL);
        int now = 0;
        for (int i = 0; i < 100_000; i++) {
            if (i % 10_000 == 0) { // 10,000 new senders a minute, 100,000 in all: six times what the table holds
                now += TTL;
                table.expire(now, 3 * table.slots()); // a visit per slot and one per deletion
            }
            int vni = 1000 + i % 7; // several subnets
            int ip = 0x0a00_0000 + i;
            assertThat(table.learn(vni, ip, 0x0200_0000_0000L + i, now)).as("sender %d", i).isEqualTo(NeighborTable.Learned.NEW);
            assertThat(table.lookup(vni, ip, now)).isEqualTo(0x0200_0000_0000L + i);
        }
        assertThat(table.size()).isEqualTo(10_000);
    }

    @Test
    void shouldRefuseNewSendersOnlyWhileTheLiveOnesFillTheTable() {
        NeighborTable table = new NeighborTable(1_000, 1_000, TTL);
        for (int i = 0; i < 1_000; i++) {
            assertThat(table.learn(1, i + 1, 2, 0)).isEqualTo(NeighborTable.Learned.NEW);
        }
        assertThat(table.learn(1, 5_000, 2, 1)).isEqualTo(NeighborTable.Learned.TABLE_FULL);
        assertThat(table.learn(1, 7, 3, 1)).isEqualTo(NeighborTable.Learned.REFRESHED);
        assertThat(table.expire(TTL, 3 * table.slots())).isEqualTo(999); // 7 was refreshed at 1
        assertThat(table.lookup(1, 7, TTL)).isEqualTo(3);
        assertThat(table.learn(1, 5_000, 2, TTL)).isEqualTo(NeighborTable.Learned.NEW);
    }

    @Test
    void shouldKeepEverySurvivorFindableWhileExpiryDeletesAroundIt() {
        NeighborTable table = new NeighborTable(4_096, 4_096, TTL);
        // Distinct keys scattered over the table, every other one expired, so deletions shift survivors.
        for (int i = 0; i < 4_000; i++) {
            table.learn(1 + i % 3, i * 7919, i + 1, i % 2 == 0 ? 0 : 100);
        }
        assertThat(table.expire(TTL, 3 * table.slots())).isEqualTo(2_000);
        for (int i = 0; i < 4_000; i++) {
            long expected = i % 2 == 0 ? NeighborTable.MISSING : i + 1;
            assertThat(table.lookup(1 + i % 3, i * 7919, TTL)).as("sender %d", i).isEqualTo(expected);
        }
        assertThat(table.sizeOf(1) + table.sizeOf(2) + table.sizeOf(3)).isEqualTo(2_000);
    }
}
