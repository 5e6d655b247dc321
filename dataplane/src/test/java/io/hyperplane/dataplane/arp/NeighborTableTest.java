package io.hyperplane.dataplane.arp;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NeighborTableTest {
    private static final int TTL = 60;
    private static final int REFRESH = 10;
    private static final int RETRY = 1;

    @Test
    void shouldKeepLearningAsHundredThousandDistinctSendersComeAndGo() {
        NeighborTable table = new NeighborTable(16_384, 16_384, TTL, REFRESH, RETRY);
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
        NeighborTable table = new NeighborTable(1_000, 1_000, TTL, REFRESH, RETRY);
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
        NeighborTable table = new NeighborTable(4_096, 4_096, TTL, REFRESH, RETRY);
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

    @Test
    void shouldAskANextHopInUseToConfirmItselfBeforeItLapsesAndKeepItWhenItAnswers() {
        NeighborTable table = new NeighborTable(64, 64, TTL, REFRESH, RETRY);
        table.learn(1, 7, 0xAAL, 0);

        assertThat(table.lookup(1, 7, TTL - REFRESH - 1)).isEqualTo(0xAAL);
        assertThat(table.refreshDue(TTL - REFRESH - 1)).as("fresh: nothing to ask").isFalse();
        assertThat(table.lookup(1, 7, TTL - REFRESH)).isEqualTo(0xAAL);
        assertThat(table.refreshDue(TTL - REFRESH)).as("the refresh window opens").isTrue();
        assertThat(table.lookup(1, 7, TTL - REFRESH)).as("still used while asked").isEqualTo(0xAAL);
        assertThat(table.refreshDue(TTL - REFRESH)).as("once per retry interval").isFalse();
        assertThat(table.lookup(1, 7, TTL - REFRESH + RETRY)).isEqualTo(0xAAL);
        assertThat(table.refreshDue(TTL - REFRESH + RETRY)).as("asked again: the answer may have been lost").isTrue();

        assertThat(table.learn(1, 7, 0xAAL, TTL - 2)).isEqualTo(NeighborTable.Learned.REFRESHED);
        assertThat(table.lookup(1, 7, TTL + 5)).as("the answer renewed it: no gap at the old expiry").isEqualTo(0xAAL);
        assertThat(table.refreshDue(TTL + 5)).isFalse();
    }

    @Test
    void shouldStillExpireANextHopThatNeverAnswers() {
        NeighborTable table = new NeighborTable(64, 64, TTL, REFRESH, RETRY);
        table.learn(1, 7, 0xAAL, 0);
        for (int now = TTL - REFRESH; now < TTL; now++) {
            assertThat(table.lookup(1, 7, now)).isEqualTo(0xAAL);
            assertThat(table.refreshDue(now)).as("asked at %d", now).isTrue();
        }
        assertThat(table.lookup(1, 7, TTL)).isEqualTo(NeighborTable.MISSING);
        assertThat(table.refreshDue(TTL)).as("nothing found, nothing to ask").isFalse();
    }

    @Test
    void shouldRefuseARefreshWindowLongerThanTheEntryLives() {
        assertThatThrownBy(() -> new NeighborTable(64, 64, TTL, TTL + 1, RETRY)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("refresh must be 1..ttl");
    }
}
