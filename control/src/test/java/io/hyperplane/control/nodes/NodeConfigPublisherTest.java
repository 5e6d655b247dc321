package io.hyperplane.control.nodes;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.control.nodes.NodeConfigPublisher.Published;
import io.hyperplane.control.store.Database;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The publisher's loop with the store replaced by {@link FakeSource}: ordering, coalescing of
 * rebuilds, the environments fast path that a read never holds up, back-pressure and close.
 */
@Timeout(60)
class NodeConfigPublisherTest {
    private static final Duration ANSWER = Duration.ofSeconds(10);
    /** Periodic rebuilds out of the way: a test asks for every read it expects. */
    private static final NodeConfigPublisher.Settings NO_PERIODIC = new NodeConfigPublisher.Settings(Duration.ofHours(1), 1024, Duration.ofSeconds(1));

    private final FakeSource store = new FakeSource();
    private final List<NodeConfigPublisher> publishers = new ArrayList<>();

    @AfterEach
    void closeAll() {
        store.gate = null;
        store.passes.release(1000);
        publishers.forEach(NodeConfigPublisher::close);
    }

    private NodeConfigPublisher publisher(NodeConfigPublisher.Settings settings) {
        NodeConfigPublisher p = new NodeConfigPublisher(store, () -> { }, settings);
        publishers.add(p);
        return p;
    }

    @Test
    void shouldPublishTheStoresConfigurationBeforeItsConstructorReturnsWithVersionsThatGrowAcrossRestarts(@TempDir Path dir) {
        Database db = Database.embedded(dir);
        try {
            long first;
            try (NodeConfigPublisher p = new NodeConfigPublisher(db, () -> { })) {
                first = p.current().version();
                assertThat(p.current().snapshot().enis()).extracting(NodeSnapshot.Eni::id).containsExactly(Internet.SERVICE_EGRESS_ENI_ID);
            }
            try (NodeConfigPublisher restarted = new NodeConfigPublisher(db, () -> { })) {
                assertThat(restarted.current().version()).isGreaterThan(first);
            }
        } finally {
            db.close();
        }
    }

    @Test
    void shouldPublishEnvironmentsChangesInOrderAsDeltasWithoutReadingTheStore() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        RecordingSubscriber seen = new RecordingSubscriber();
        p.subscribe(seen, p.current().version());
        int readsBefore = store.reads.get();

        Published a = answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of()));
        Published b = answer(p.environmentsChanged(List.of(ee("ee-b", 5002, "eni-1")), List.of()));
        Published c = answer(p.environmentsChanged(List.of(), List.of("ee-a")));

        assertThat(List.of(a.version(), b.version(), c.version())).isSorted().doesNotHaveDuplicates();
        assertThat(b.delta().base()).isEqualTo(a.version());
        assertThat(c.delta().base()).isEqualTo(b.version());
        assertThat(c.snapshot().executionEnvironments()).extracting(NodeSnapshot.ExecutionEnvironment::id).containsExactly("ee-b");
        await().atMost(ANSWER).until(() -> seen.versions().size() == 3);
        assertThat(seen.versions()).containsExactly(a.version(), b.version(), c.version());
        assertThat(store.reads.get()).isEqualTo(readsBefore);
    }

    @Test
    void shouldNotPublishAChangeThatIsAlreadyIn() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        Published put = answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of()));

        assertThat(answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of())).version()).isEqualTo(put.version());
        assertThat(answer(p.environmentsChanged(List.of(), List.of("ee-never-there"))).version()).isEqualTo(put.version());
    }

    @Test
    void shouldServeEveryAskThatComesWhileARebuildReadsWithOneMoreRead() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        int readsBefore = store.reads.get();
        store.gate = store.passes;
        CompletableFuture<Published> first = p.refresh();
        store.awaitRead(readsBefore);
        store.content = snapshot(List.of("eni-1", "eni-2"), List.of()); // committed after the first read started
        List<CompletableFuture<Published>> later = List.of(p.refresh(), p.refresh(), p.refresh());
        p.changed();

        store.passes.release(2);

        assertThat(answer(first).snapshot().enis()).extracting(NodeSnapshot.Eni::id).containsExactly("eni-1");
        for (CompletableFuture<Published> f : later) {
            assertThat(answer(f).snapshot().enis()).extracting(NodeSnapshot.Eni::id).containsExactly("eni-1", "eni-2");
        }
        assertThat(store.reads.get() - readsBefore).isEqualTo(2);
    }

    @Test
    void shouldNotHoldUpAnEnvironmentsChangeWhileARebuildReadsNorLoseIt() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        store.gate = store.passes;
        CompletableFuture<Published> rebuilt = p.refresh();
        store.awaitRead(1); // reads the store as it was before the environment came

        Published bound = answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of()));
        assertThat(rebuilt).isNotDone();
        store.content = snapshot(List.of("eni-1", "eni-2"), List.of(ee("ee-a", 5001, "eni-1"))); // something else changed too
        p.changed();
        store.passes.release(2);

        assertThat(answer(rebuilt).snapshot().executionEnvironments()).extracting(NodeSnapshot.ExecutionEnvironment::id).containsExactly("ee-a");
        await().atMost(ANSWER).until(() -> p.current().snapshot().enis().size() == 2);
        assertThat(p.current().version()).isGreaterThan(bound.version());
        assertThat(p.current().snapshot().executionEnvironments()).extracting(NodeSnapshot.ExecutionEnvironment::id).containsExactly("ee-a");
    }

    @Test
    void shouldRebuildForAnEnvironmentOfAnEniTheCurrentVersionDoesNotHave() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        int readsBefore = store.reads.get();
        NodeSnapshot.ExecutionEnvironment onNewEni = ee("ee-a", 5001, "eni-2");
        store.content = snapshot(List.of("eni-1", "eni-2"), List.of(onNewEni)); // committed before the change is published

        Published published = answer(p.environmentsChanged(List.of(onNewEni), List.of()));

        assertThat(published.delta()).isNull();
        assertThat(published.snapshot().executionEnvironments()).containsExactly(onNewEni);
        assertThat(store.reads.get() - readsBefore).isEqualTo(1);
    }

    @Test
    void shouldLeaveOutRejectedEnisOneByOne() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        long firstWithEni1 = p.versionWithEni("eni-1");
        store.content = snapshot(List.of("eni-1", "eni-2"), List.of());
        store.rejected = Map.of("eni-3", "ip 10.0.1.4 is used by another eni in vpc vpc-1");

        Published published = answer(p.refresh());

        assertThat(p.rejection("eni-3")).contains("used by another eni");
        assertThat(p.rejection("eni-1")).isNull();
        assertThat(p.versionWithEni("eni-1")).isEqualTo(firstWithEni1);
        assertThat(p.versionWithEni("eni-2")).isEqualTo(published.version());
        assertThat(p.versionWithEni("eni-3")).isEqualTo(-1);

        store.rejected = Map.of();
        answer(p.refresh());
        assertThat(p.rejection("eni-3")).isNull();
    }

    @Test
    void shouldTellANewSubscriberTheCurrentVersionUnlessItsNodeRunsIt() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        long current = p.current().version();
        RecordingSubscriber upToDate = new RecordingSubscriber();
        RecordingSubscriber behind = new RecordingSubscriber();
        p.subscribe(upToDate, current);
        p.subscribe(behind, -1);

        Published next = answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of()));

        await().atMost(ANSWER).until(() -> behind.versions().size() == 2);
        assertThat(behind.versions()).containsExactly(current, next.version());
        assertThat(upToDate.versions()).containsExactly(next.version());
        p.unsubscribe(behind);
        Published after = answer(p.environmentsChanged(List.of(), List.of("ee-a")));
        await().atMost(ANSWER).until(() -> upToDate.versions().size() == 2);
        assertThat(upToDate.versions()).containsExactly(next.version(), after.version());
        assertThat(behind.versions()).containsExactly(current, next.version());
    }

    @Test
    void shouldAnswerALongPollWithTheNextVersionOrWithNullAfterItsWait() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        Published now = p.current();

        assertThat(p.next(now.version() - 1, Duration.ofSeconds(30))).isCompletedWithValue(now);
        CompletableFuture<Published> waiting = p.next(now.version(), Duration.ofSeconds(30));
        assertThat(answer(p.next(now.version(), Duration.ofMillis(50)))).isNull();
        assertThat(waiting).isNotDone();
        Published next = answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of()));
        assertThat(answer(waiting)).isSameAs(next);
    }

    @Test
    void shouldFailOnlyTheAsksAFailedReadServedAndReadAgainWhenAsked() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        store.failNext = new IllegalStateException("store: connection refused");

        assertThatThrownBy(() -> answer(p.refresh())).hasMessage("store: connection refused");

        store.content = snapshot(List.of("eni-1", "eni-2"), List.of());
        assertThat(answer(p.refresh()).snapshot().enis()).hasSize(2);
    }

    @Test
    void shouldRebuildEveryPeriodAndWhenToldOfAChange() {
        NodeConfigPublisher periodic = publisher(new NodeConfigPublisher.Settings(Duration.ofMillis(50), 1024, Duration.ofSeconds(1)));
        NodeConfigPublisher told = publisher(NO_PERIODIC);

        store.content = snapshot(List.of("eni-1", "eni-2"), List.of());
        told.changed();

        await().atMost(ANSWER).until(() -> periodic.current().snapshot().enis().size() == 2);
        await().atMost(ANSWER).until(() -> told.current().snapshot().enis().size() == 2);
    }

    @Test
    void shouldRefuseWhatFindsNoRoomInTheQueueWithinItsWaitAndRunWhatWasQueued() throws Exception {
        NodeConfigPublisher p = publisher(new NodeConfigPublisher.Settings(Duration.ofHours(1), 4, Duration.ofMillis(50)));
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch unstick = new CountDownLatch(1);
        p.subscribe(version -> { // told of the current version at once: the loop waits here
            stuck.countDown();
            awaitQuietly(unstick);
        }, -1);
        assertThat(stuck.await(ANSWER.toSeconds(), TimeUnit.SECONDS)).isTrue();
        List<CompletableFuture<Published>> queued = List.of(p.refresh(), p.refresh(), p.refresh(), p.refresh());

        CompletableFuture<Published> refused = p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of());
        p.changed(); // never waits

        assertThat(refused).isCompletedExceptionally();
        assertThatThrownBy(refused::join).hasMessageContaining("4 commands queued");
        assertThat(answer(p.next(p.current().version(), Duration.ofSeconds(30)))).isNull();
        assertThat(p.refused()).isEqualTo(2);
        store.content = snapshot(List.of("eni-1"), List.of(ee("ee-a", 5001, "eni-1"))); // the refused change was committed
        unstick.countDown();
        for (CompletableFuture<Published> f : queued) {
            assertThat(answer(f)).isNotNull();
        }
        await().atMost(ANSWER).until(() -> p.current().snapshot().executionEnvironments().size() == 1);
    }

    @Test
    void shouldFailWhatARebuildOwesWhenClosedWhileItReads() throws Exception {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        store.gate = store.passes;
        CompletableFuture<Published> reading = p.refresh();
        store.awaitRead(1);
        CompletableFuture<Published> nextRead = p.refresh();
        CompletableFuture<Published> poll = p.next(p.current().version(), Duration.ofMinutes(1));
        Thread closing = Thread.ofPlatform().start(p::close); // waits for the read in flight

        assertThatThrownBy(() -> answer(reading)).hasMessageContaining("closed");
        assertThatThrownBy(() -> answer(nextRead)).hasMessageContaining("closed");
        assertThat(answer(poll)).isNull();
        store.passes.release();
        closing.join(ANSWER.toMillis());
        assertThat(closing.isAlive()).isFalse();
    }

    @Test
    void shouldAnswerEveryFutureWhenClosedAtAnyMomentAndEveryCallAfterwards() throws Exception {
        Random random = new Random(14);
        for (int round = 0; round < 20; round++) {
            NodeConfigPublisher p = publisher(new NodeConfigPublisher.Settings(Duration.ofMillis(5), 64, Duration.ofMillis(20)));
            ConcurrentLinkedQueue<CompletableFuture<Published>> answers = new ConcurrentLinkedQueue<>();
            AtomicInteger vni = new AtomicInteger(5001);
            AtomicInteger issued = new AtomicInteger();
            List<Thread> callers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                long seed = random.nextLong();
                callers.add(Thread.ofPlatform().start(() -> {
                    Random r = new Random(seed);
                    for (int i = 0; i < 2_000; i++, issued.incrementAndGet()) {
                        int v = vni.getAndIncrement() % 1000 + 5001;
                        switch (r.nextInt(6)) {
                            case 0 -> answers.add(p.refresh());
                            case 1 -> answers.add(p.environmentsChanged(List.of(ee("ee-" + v, v, "eni-1")), List.of()));
                            case 2 -> answers.add(p.environmentsChanged(List.of(), List.of("ee-" + (v - 1))));
                            case 3 -> answers.add(p.next(p.current().version(), Duration.ofMinutes(1)));
                            case 4 -> p.changed();
                            default -> {
                                RecordingSubscriber s = new RecordingSubscriber();
                                try {
                                    p.subscribe(s, -1);
                                } catch (IllegalStateException refused) {
                                    assertThat(refused).hasMessageContaining("node config publisher");
                                }
                                p.unsubscribe(s);
                            }
                        }
                    }
                }));
            }
            int closeAfter = random.nextInt(6_000); // any moment: before the first call, amid them, after the last
            while (issued.get() < closeAfter && callers.stream().anyMatch(Thread::isAlive)) {
                Thread.onSpinWait();
            }
            p.close();
            for (Thread t : callers) {
                t.join();
            }

            CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).handle((v, e) -> null).get(ANSWER.toMillis(), TimeUnit.MILLISECONDS);
            for (CompletableFuture<Published> f : answers) {
                if (f.isCompletedExceptionally()) { // refused: closed, or no room in the queue meanwhile
                    assertThatThrownBy(f::join).hasMessageContaining("node config publisher: ");
                }
            }
        }
    }

    @Test
    void shouldRefuseEveryCallAfterClose() {
        NodeConfigPublisher p = publisher(NO_PERIODIC);
        long version = p.current().version();
        p.close();

        assertThatThrownBy(() -> answer(p.refresh())).hasMessageContaining("node config publisher: closed");
        assertThatThrownBy(() -> answer(p.environmentsChanged(List.of(ee("ee-a", 5001, "eni-1")), List.of()))).hasMessageContaining("closed");
        assertThat(p.next(version, Duration.ofMinutes(1))).isCompletedWithValue(null);
        assertThatThrownBy(() -> p.subscribe(new RecordingSubscriber(), -1)).hasMessageContaining("closed");
        p.unsubscribe(new RecordingSubscriber());
        p.changed();
        assertThat(p.current().version()).isEqualTo(version);
    }

    private static Published answer(CompletableFuture<Published> future) throws Exception {
        try {
            return future.get(ANSWER.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static NodeSnapshot.ExecutionEnvironment ee(String id, int vni, String eni) {
        int n = vni - 5000;
        return new NodeSnapshot.ExecutionEnvironment(id, vni, "198.18.0.11", "100.64." + (n / 250) + "." + (n % 250 + 2),
                String.format("02:ee:00:00:%02x:%02x", n / 256, n % 256), eni);
    }

    /** What the store holds: one VPC and subnet, the ENIs (10.0.1.(n+3)) and environments given. */
    private static NodeSnapshot snapshot(List<String> enis, List<NodeSnapshot.ExecutionEnvironment> environments) {
        List<NodeSnapshot.Eni> list = new ArrayList<>();
        for (String eni : enis) {
            int n = Integer.parseInt(eni.substring(eni.indexOf('-') + 1));
            list.add(new NodeSnapshot.Eni(eni, "10.0.1." + (n + 3), String.format("02:00:00:00:00:%02x", n), "subnet-1", List.of("sg-1")));
        }
        return new NodeSnapshot(0, NodeSnapshot.Gateway.DEFAULT, List.of(new NodeSnapshot.Vpc("vpc-1", "10.0.0.0/16")),
                List.of(new NodeSnapshot.Subnet("subnet-1", "vpc-1", "10.0.1.0/24", 100, "198.18.0.9", "acl-1", "rtb-1")),
                List.of(new NodeSnapshot.SecurityGroup("sg-1", List.of(), List.of())),
                List.of(new NodeSnapshot.NetworkAcl("acl-1", List.of())),
                List.of(new NodeSnapshot.RouteTable("rtb-1", List.of())), list, environments);
    }

    /**
     * The store in memory: what a read returns is set by the test; reads are counted and, while
     * {@code gate} is set, each waits for a pass from it; versions are taken from one counter, as
     * from the store's allocator.
     */
    private static final class FakeSource implements NodeConfigPublisher.Source {
        volatile NodeSnapshot content = snapshot(List.of("eni-1"), List.of());
        volatile Map<String, String> rejected = Map.of();
        volatile RuntimeException failNext;
        volatile Semaphore gate;
        final Semaphore passes = new Semaphore(0);
        final AtomicInteger reads = new AtomicInteger();
        private final AtomicLong versions = new AtomicLong(1);

        @Override
        public NodeConfigBuilder.Build read() {
            NodeSnapshot read = content;
            Map<String, String> rejections = rejected;
            reads.incrementAndGet();
            Semaphore g = gate;
            if (g != null) {
                g.acquireUninterruptibly();
            }
            RuntimeException failure = failNext;
            failNext = null;
            if (failure != null) {
                throw failure;
            }
            return new NodeConfigBuilder.Build(read, rejections);
        }

        @Override
        public long takeVersions(long count) {
            return versions.getAndAdd(count);
        }

        /** Waits until the read after the {@code before}-th has started (it has taken its content). */
        void awaitRead(int before) {
            await().atMost(ANSWER).until(() -> reads.get() > before);
        }
    }

    private static final class RecordingSubscriber implements NodeConfigPublisher.Subscriber {
        private final ConcurrentLinkedQueue<Long> versions = new ConcurrentLinkedQueue<>();

        @Override
        public void publish(Published version) {
            versions.add(version.version());
        }

        List<Long> versions() {
            return List.copyOf(versions);
        }
    }
}
