package io.hyperplane.bench;

import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.control.ec2.Ec2Quotas;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.metrics.LatencyRecorder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@code hyperplane bench api}: DescribeSubnets latency with many concurrent clients against a
 * real server (embedded H2, no fabric) in this JVM, over loopback HTTP with SigV4 on every request.
 * Each client thread loops one request at a time; a warm-up is discarded. Percentiles as
 * {@link LatencyRecorder} defines them.
 */
public final class ApiBench {
    public record Result(int clients, long requests, long failures, double seconds, double p50Ms, double p99Ms, double perSecond) {
    }

    private final Consumer<String> progress;

    public ApiBench(Consumer<String> progress) {
        this.progress = progress;
    }

    public Result run(int clients, int subnets, Duration warmup, Duration measure) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("hp-bench-api");
        Ec2Quotas quotas = Ec2Quotas.AWS_DEFAULTS.withSubnetsPerVpc(Math.max(Ec2Quotas.SUBNETS_PER_VPC, subnets));
        try (ControlPlaneServer server = ControlPlaneServer.start(new ControlPlaneServer.Settings(dir, "127.0.0.1", 0, null, null, null)
                .withQuotas(quotas))) {
            Ec2QueryClient client = new Ec2QueryClient(server.endpoint(), server.defaultCredential());
            String vpc = Ec2QueryClient.text(client.call("CreateVpc", Map.of("CidrBlock", "10.0.0.0/16")), "vpcId");
            for (int i = 0; i < subnets; i++) {
                client.call("CreateSubnet", Map.of("VpcId", vpc, "CidrBlock", "10.0." + i + ".0/24"));
            }
            progress.accept("bench api: " + clients + " clients, DescribeSubnets over " + subnets + " subnets, "
                    + warmup.toSeconds() + " s warm-up, " + measure.toSeconds() + " s measured");
            long start = System.nanoTime();
            long measureFrom = start + warmup.toNanos();
            long end = measureFrom + measure.toNanos();
            List<LatencyRecorder> recorders = new ArrayList<>();
            AtomicLong failures = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                LatencyRecorder mine = new LatencyRecorder(); // one per client, merged after the run
                recorders.add(mine);
                threads.add(Thread.ofPlatform().start(() -> {
                    Map<String, String> filter = new LinkedHashMap<>();
                    filter.put("Filter.1.Name", "vpc-id");
                    filter.put("Filter.1.Value.1", vpc);
                    while (System.nanoTime() < end) {
                        long t0 = System.nanoTime();
                        try {
                            client.call("DescribeSubnets", filter);
                        } catch (IOException e) {
                            failures.incrementAndGet();
                            continue;
                        } catch (InterruptedException e) {
                            return;
                        }
                        if (t0 >= measureFrom) {
                            mine.recordNanos(System.nanoTime() - t0);
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            LatencyRecorder all = new LatencyRecorder();
            recorders.forEach(all::add);
            LatencyRecorder.Summary latency = all.summary();
            double seconds = measure.toNanos() / 1e9;
            return new Result(clients, latency.count(), failures.get(), seconds, latency.p50Millis(), latency.p99Millis(), latency.count() / seconds);
        } finally {
            Directories.deleteTree(dir); // the server's store
        }
    }
}
