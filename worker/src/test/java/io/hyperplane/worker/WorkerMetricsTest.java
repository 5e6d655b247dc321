package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /metrics}'s document: its keys, and each distribution in milliseconds by the one percentile definition. */
class WorkerMetricsTest {
    private final WorkerMetrics metrics = new WorkerMetrics();

    @Test
    void shouldServeEveryKeyWithOnlyACountBeforeTheFirstSample() {
        JsonNode json = metrics.json(0, 16, new ControlPlane.BindsAnswered(0, 0));

        assertThat(json.fieldNames()).toIterable().containsExactly("environments", "invocations", "coldStarts", "initFailures",
                "legacyEnisCreated", "legacyEniCreationsThrottled", "legacyEniFailures", "networkAttachMs", "processStartMs", "sandboxMs",
                "runtimeInitMs", "coldStartMs", "legacyEniCreateMs", "networkAttachSteps", "slotPreparation", "readySlots", "bindsAnswered");
        assertThat(json.path("coldStartMs").toString()).isEqualTo("{\"count\":0}");
        assertThat(json.path("networkAttachSteps").fieldNames()).toIterable().containsExactly("takeSlotMs", "bindUntilEveryNodeHasItMs");
        assertThat(json.path("slotPreparation").fieldNames()).toIterable().containsExactly("namespaceMs", "registerVniMs", "tunnelDeviceMs");
        assertThat(json.path("readySlots").asInt()).isEqualTo(16);
    }

    @Test
    void shouldGiveNearestRankPercentilesInMilliseconds() {
        for (int ms = 1; ms <= 100; ms++) {
            metrics.coldStarted(new ColdStartPhases(ms, 1, Double.NaN, 1, Double.NaN, false), ms * 2);
        }

        JsonNode json = metrics.json(3, 0, new ControlPlane.BindsAnswered(5, 1));

        assertThat(json.path("coldStarts").asLong()).isEqualTo(100);
        JsonNode attach = json.path("networkAttachMs");
        assertThat(attach.path("count").asLong()).isEqualTo(100);
        // The 50th and 99th of 1..100 ms; HdrHistogram's buckets put a value at most 0.1% above itself.
        assertThat(attach.path("p50").asDouble()).isBetween(50.0, 50.05);
        assertThat(attach.path("p99").asDouble()).isBetween(99.0, 99.1);
        assertThat(attach.path("max").asDouble()).isBetween(100.0, 100.1);
        assertThat(json.path("coldStartMs").path("max").asDouble()).isBetween(200.0, 200.2);
        assertThat(json.path("sandboxMs").path("count").asLong()).as("no ready line: no sample").isZero();
        assertThat(json.path("environments").asInt()).isEqualTo(3);
        assertThat(json.path("bindsAnswered").toString()).isEqualTo("{\"overControlStream\":5,\"overHttp\":1}");
    }

    @Test
    void shouldCountLegacyEnisCreatedThrottledAndRefused() {
        metrics.legacyEniCreated(false);
        metrics.legacyEniCreated(true);
        metrics.legacyEniRefused(true);
        metrics.legacyEniRefused(false);
        metrics.legacyEniCreation(120.0);
        metrics.invoked();
        metrics.initFailed();

        JsonNode json = metrics.json(0, 0, new ControlPlane.BindsAnswered(0, 0));

        assertThat(json.path("legacyEnisCreated").asLong()).isEqualTo(2);
        assertThat(json.path("legacyEniCreationsThrottled").asLong()).isEqualTo(2);
        assertThat(json.path("legacyEniFailures").asLong()).isEqualTo(2);
        assertThat(json.path("legacyEniCreateMs").path("count").asLong()).isEqualTo(1);
        assertThat(json.path("invocations").asLong()).isEqualTo(1);
        assertThat(json.path("initFailures").asLong()).isEqualTo(1);
    }

    @Test
    void shouldRecordTheAttachStepsAndSlotPreparation() {
        metrics.attached(0.5, 8.0);
        metrics.slotPrepared(1.0, 2.0, 3.0);

        JsonNode json = metrics.json(0, 0, new ControlPlane.BindsAnswered(0, 0));

        assertThat(json.path("networkAttachSteps").path("bindUntilEveryNodeHasItMs").path("p50").asDouble()).isBetween(8.0, 8.01);
        assertThat(json.path("slotPreparation").path("tunnelDeviceMs").path("count").asLong()).isEqualTo(1);
    }
}
