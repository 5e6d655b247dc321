package io.hyperplane.control.lambda;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.ec2.NetworkInterfaces;
import io.hyperplane.control.ec2.SubnetAddresses;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Cidr;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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
        Created eni = db.inTransaction(c -> {
            Accounts.lock(c, account);
            List<String> vpc = Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnetId, account);
            if (vpc.isEmpty()) {
                throw new LambdaError("InvalidSubnetIDException", 502, "The subnet ID '" + subnetId + "' does not exist.");
            }
            if (Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE account_id = ? AND vpc_id = ?", account, vpc.getFirst()) >= quotaPerVpc) {
                throw new LambdaError("ENILimitReachedException", 502, "Lambda was not able to create an ENI in the VPC of the Lambda function"
                        + " because the limit for Network Interfaces has been reached.");
            }
            Ipv4Cidr cidr = Ipv4Cidr.parse(Sql.strings(c, "SELECT cidr FROM subnets WHERE id = ?", subnetId).getFirst());
            List<String> free = SubnetAddresses.free(cidr, SubnetAddresses.used(c, subnetId), 1);
            if (free.isEmpty()) {
                throw new LambdaError("SubnetIPAddressLimitReachedException", 502, "Lambda was not able to set up VPC access for the Lambda"
                        + " function because one or more configured subnets has no available IP addresses.");
            }
            String id = Ids.next("eni");
            String mac;
            try {
                mac = NetworkInterfaces.newMac(c);
            } catch (IdPool.Exhausted e) {
                throw new LambdaError("ENILimitReachedException", 502, "Lambda was not able to create an ENI in the VPC of the Lambda function"
                        + " because the limit for Network Interfaces has been reached.");
            }
            TreeSet<String> sorted = new TreeSet<>(groups);
            // One per environment: the key carries the ENI's own id, so it is never shared.
            Sql.update(c, "INSERT INTO network_interfaces (id, account_id, vpc_id, subnet_id, group_key, private_ip, mac, status, description, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, 'in-use', ?, ?)", id, account, vpc.getFirst(), subnetId, String.join(",", sorted) + "|" + id,
                    free.getFirst(), mac, "AWS Lambda VPC ENI (legacy, one per environment)-" + functionName, Timestamp.from(Instant.now()));
            for (String g : sorted) {
                Sql.update(c, "INSERT INTO network_interface_groups (eni_id, group_id) VALUES (?, ?)", id, g);
            }
            return new Created(id, free.getFirst(), false, 0);
        });
        return new Created(eni.eniId(), eni.ip(), waited, (System.nanoTime() - start) / 1_000_000);
    }

    /** Deletes a legacy ENI once its environment is gone (no environment may still use it). */
    public void delete(String eniId) {
        db.inTransaction(c -> {
            // Only a legacy ENI (its key carries its own id), and only once no environment uses it.
            if (Sql.count(c, "SELECT COUNT(*) FROM execution_environments WHERE eni_id = ?", eniId) == 0
                    && Sql.count(c, "SELECT COUNT(*) FROM network_interfaces WHERE id = ? AND group_key LIKE '%|%'", eniId) > 0) {
                NetworkInterfaces.delete(c, eniId);
            }
            return null;
        });
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
