package io.hyperplane.worker;

import io.hyperplane.linux.underlay.UdpLivenessProber;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The worker's heartbeat against a fake control plane. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HeartbeatTest {
    private static final URI URL = URI.create("http://127.0.0.1:40001");
    private static final WorkerSettings SETTINGS = new WorkerSettings("t", URI.create("http://127.0.0.1:40000"), "token", "hp-host", "192.0.2.1",
            Path.of("/nonexistent"), WorkerSettings.NetworkModel.LEGACY, WorkerSettings.DEFAULT_IDLE_TIMEOUT, WorkerSettings.DEFAULT_FIRST_UID,
            WorkerSettings.DEFAULT_INIT_TIMEOUT, 0);

    private final FakeControlPlane control = new FakeControlPlane();
    private final AtomicInteger environments = new AtomicInteger(3);
    private final Heartbeat heartbeat = new Heartbeat(control, SETTINGS, URL, environments::get,
            new HostFleet(SETTINGS, UdpLivenessProber.Settings.DEFAULTS)); // never made: the fake plans no fleet

    @AfterEach
    void stop() {
        heartbeat.close();
    }

    @Test
    void shouldRegisterTheWorkerAndKeepTheLiveNodes() {
        heartbeat.beat();

        assertThat(control.beats).containsExactly(new FakeControlPlane.Beat("t", URL, "192.0.2.1", "legacy", 3));
        assertThat(heartbeat.nodes()).containsExactly("192.0.2.10");
    }

    @Test
    void shouldKeepTheLastNodesWhileTheControlPlaneIsUnreachable() {
        heartbeat.beat();
        control.heartbeatFailure = new IOException("connection refused");
        control.nodes = List.of();

        heartbeat.beat();
        heartbeat.beat();

        assertThat(heartbeat.nodes()).containsExactly("192.0.2.10");
        assertThat(control.beats).hasSize(3);
    }

    @Test
    void shouldAskForTheLiveNodesWhenNoneIsKnownYet() throws Exception {
        assertThat(heartbeat.live()).containsExactly("192.0.2.10");
        assertThat(heartbeat.live()).containsExactly("192.0.2.10");

        assertThat(control.beats).as("asked once, then known").hasSize(1);
        assertThat(heartbeat.nodes()).containsExactly("192.0.2.10");
    }

    @Test
    void shouldBeatOnceStartedWithTheEnvironmentsOfTheMoment() {
        heartbeat.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> !control.beats.isEmpty());
        environments.set(5);

        await().atMost(Duration.ofSeconds(10)).until(() -> control.beats.getLast().environments() == 5);
    }
}
