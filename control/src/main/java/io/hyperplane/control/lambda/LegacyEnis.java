package io.hyperplane.control.lambda;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.eni.Allocation;
import io.hyperplane.control.eni.EniModel;
import io.hyperplane.control.eni.EniStore;
import io.hyperplane.control.eni.VpcLookup;
import io.hyperplane.control.store.Database;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pre-2019 model, kept to measure against: every new execution environment gets an ENI of
 * its own in the subnet, created during its cold start. Creation goes through EC2's
 * CreateNetworkInterface token bucket (100, refilled 5 per second), waits out its modelled latency,
 * and fails as Lambda's invokes did then: EC2ThrottledException when the bucket stays empty,
 * ENILimitReachedException at the quota, SubnetIPAddressLimitReachedException when the subnet has
 * no address left.
 */
public final class LegacyEnis {
    /** Bucket size, refill per second, creation latency, and how long a creation waits for a token. */
    public record Settings(int bucket, double refillPerSecond, Duration latency, Duration throttleWait) {
        public static final Settings DEFAULTS = new Settings(100, 5, Duration.ofSeconds(3), Duration.ofSeconds(10));
    }

    /** A created ENI, and whether its creation had to wait for the rate limit. */
    public record Created(String eniId, String ip, boolean throttled, long createMillis) {
    }

    private final Database db;
    private final Settings settings;
    private final int quotaPerVpc;
    private final AtomicLong throttled = new AtomicLong();
    private double tokens;
    private long refilledAt = System.nanoTime();

    public LegacyEnis(Database db, Settings settings, int quotaPerVpc) {
        this.db = db;
        this.settings = settings;
        this.quotaPerVpc = quotaPerVpc;
        this.tokens = settings.bucket();
    }

    /** Creations that found the bucket empty (waited, or failed with EC2ThrottledException). */
    public long throttledCount() {
        return throttled.get();
    }

    public Created create(String account, String functionName, String subnetId, List<String> groups) throws InterruptedException {
        long start = System.nanoTime();
        boolean waited = false;
        long deadline = start + settings.throttleWait().toNanos();
        while (!take()) {
            if (!waited) {
                throttled.incrementAndGet();
                waited = true;
            }
            if (System.nanoTime() > deadline) {
                throw new LambdaError("EC2ThrottledException", 502, "Lambda was throttled by Amazon EC2 during Lambda function initialization"
                        + " using the execution role provided for the function.");
            }
            Thread.sleep(Math.max(1, (long) (1000 / settings.refillPerSecond()) / 2));
        }
        Thread.sleep(settings.latency().toMillis());
        Allocation.Allocated eni = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Optional<String> vpc = VpcLookup.subnetVpc(c, account, subnetId);
            if (vpc.isEmpty()) {
                throw new LambdaError("InvalidSubnetIDException", 502, "The subnet ID '" + subnetId + "' does not exist.");
            }
            return switch (EniStore.allocate(c, account, vpc.get(), subnetId, new TreeSet<>(groups), EniModel.LEGACY, functionName, quotaPerVpc,
                    Instant.now())) {
                case Allocation.Allocated allocated -> allocated;
                case Allocation.QuotaReached q -> throw eniLimitReached();
                case Allocation.MacsExhausted m -> throw eniLimitReached();
                case Allocation.SubnetFull f -> throw new LambdaError("SubnetIPAddressLimitReachedException", 502, "Lambda was not able to set up"
                        + " VPC access for the Lambda function because one or more configured subnets has no available IP addresses.");
            };
        });
        return new Created(eni.eniId(), eni.ip(), waited, (System.nanoTime() - start) / 1_000_000);
    }

    private static LambdaError eniLimitReached() {
        return new LambdaError("ENILimitReachedException", 502, "Lambda was not able to create an ENI in the VPC of the Lambda function"
                + " because the limit for Network Interfaces has been reached.");
    }

    /** Deletes a legacy ENI once its environment is gone (no environment may still use it). */
    public void delete(String eniId) {
        db.inTransaction(c -> EniStore.deleteLegacyIfUnused(c, eniId));
    }

    private synchronized boolean take() {
        long now = System.nanoTime();
        tokens = Math.min(settings.bucket(), tokens + (now - refilledAt) / 1e9 * settings.refillPerSecond());
        refilledAt = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
