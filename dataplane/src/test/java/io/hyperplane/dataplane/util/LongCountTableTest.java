package io.hyperplane.dataplane.util;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class LongCountTableTest {

    @Test
    void shouldMatchAMapThroughAMillionRandomChangesAndHoldOnlyWhatIsCounted() {
        LongCountTable table = new LongCountTable(512);
        Map<Long, Long> expected = new HashMap<>();
        Random random = new Random(7);
        for (int i = 0; i < 1_000_000; i++) {
            long key = 1 + random.nextInt(600);
            if (random.nextBoolean()) {
                boolean fits = expected.containsKey(key) || expected.size() < 512;
                assertThat(table.increment(key)).isEqualTo(fits);
                if (fits) {
                    expected.merge(key, 1L, Long::sum);
                }
            } else {
                table.decrement(key);
                expected.computeIfPresent(key, (k, v) -> v == 1 ? null : v - 1);
            }
        }
        assertThat(table.size()).isEqualTo(expected.size());
        for (long key = 1; key <= 600; key++) {
            assertThat(table.get(key)).as("key %d", key).isEqualTo(expected.getOrDefault(key, 0L));
        }
    }
}
