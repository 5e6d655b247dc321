package io.hyperplane.bench;

import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.control.ec2.Ec2Quotas;
import io.hyperplane.control.server.ControlPlaneServer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@code hyperplane bench api}: DescribeSubnets latency with many concurrent clients against a
 * real server (embedded H2, no fabric) in this JVM, over loopback HTTP with SigV4 on every request.
 * Each client thread loops one request at a time; a warm-up is discarded.
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
            List<long[]> samples = new ArrayList<>();
            AtomicLong failures = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                long[] mine = new long[1 << 16];
                samples.add(mine);
                threads.add(Thread.ofPlatform().start(() -> {
                    int n = 0;
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
                        if (t0 >= measureFrom && n < mine.length - 1) {
                            mine[++n] = System.nanoTime() - t0;
                        }
                    }
                    mine[0] = n;
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            int total = samples.stream().mapToInt(s -> (int) s[0]).sum();
            long[] all = new long[total];
            int at = 0;
            for (long[] s : samples) {
                System.arraycopy(s, 1, all, at, (int) s[0]);
                at += (int) s[0];
            }
            Arrays.sort(all);
            double seconds = measure.toNanos() / 1e9;
            return new Result(clients, total, failures.get(), seconds, all[(int) (total * 0.50)] / 1e6,
                    all[Math.min(total - 1, (int) (total * 0.99))] / 1e6, total / seconds);
        }
    }
}
