package io.hyperplane.control.store;

import io.hyperplane.config.fabric.Internet;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.VxlanHeader;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.LongFunction;
import java.util.function.ToLongFunction;

/**
 * The ranges the control plane numbers network resources from. A value is taken in the transaction
 * that creates its resource and released in the one that deletes it, so a value is never held by
 * two resources (each owner column is UNIQUE as well), and a range runs out only when that many
 * resources exist at once.
 * <pre>
 *   take (under the pool's row lock in allocators, held to commit, so concurrent takers queue):
 *     1. a value never used: the pool's counter (allocators.next_value), while inside the range;
 *     2. else the least recently released one (id_pool_released, first in first out): the longest
 *        time for flows and tunnels of its last holder to drain from the nodes;
 *     3. else reclaim: every value of the range no resource holds goes on the list (values released
 *        before releases were kept), then 2 again;
 *     4. else the range is full: {@link Exhausted}.
 *   release: one INSERT, no lock, so releasing never waits for a taker or for another pool.
 * </pre>
 * The configuration version counter ({@code node-config}) is not a pool: versions only ever grow.
 */
public final class IdPool {
    /**
     * Subnets' VNIs on the tunnels between nodes and VPC routers. Below every execution environment's:
     * a node looks a VNI up among both, so the two ranges never meet.
     */
    public static final IdPool SUBNET_VNI = new IdPool("subnet-vni", 1_001, 99_999, "SELECT vni FROM subnets");
    /** Execution environments' VNIs on the tunnels between workers and nodes: the rest of VXLAN's 24 bits. */
    public static final IdPool EE_VNI = new IdPool("ee-vni", 100_000, VxlanHeader.MAX_VNI, "SELECT vni FROM execution_environments");
    /**
     * VPC routers' underlay addresses in 198.19.0.0/16 (the upper half of the 198.18.0.0/15 benchmarking
     * range; the lab has the lower): host .1 to .254 of each /24, the n-th value at 198.19.(n / 254).(n % 254 + 1).
     */
    public static final IdPool VPC_VTEP = new IdPool("vpc-vtep", 10, 256 * 254 - 1, "SELECT vtep_ip FROM vpcs WHERE vtep_ip IS NOT NULL",
            n -> "198.19." + n / 254 + "." + (n % 254 + 1),
            stored -> {
                String[] octets = stored.split("\\.");
                return Long.parseLong(octets[2]) * 254 + Long.parseLong(octets[3]) - 1;
            });
    /**
     * Hyperplane ENIs' MACs: 02:48:50 (locally administered) and 24 bits; below 4,096 are the system's
     * own (the environments' gateway is 02:48:50:00:00:01).
     */
    public static final IdPool ENI_MAC = new IdPool("eni-mac", 4_096, 0xff_ffff,
            "SELECT mac FROM network_interfaces UNION ALL SELECT mac FROM nat_gateways WHERE mac IS NOT NULL",
            n -> String.format("02:48:50:%02x:%02x:%02x", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff),
            stored -> Long.parseLong(stored.substring("02:48:50:".length()).replace(":", ""), 16));

    /**
     * Public addresses, Elastic IPs and instances' auto-assigned ones alike, from one range for every
     * account (Internet.ELASTIC_IPS, 198.51.100.0/24): hosts .2 to .254, since .0 and .255 are the
     * network's and broadcast addresses and .1 is the internet router's.
     */
    public static final IdPool PUBLIC_IP = new IdPool("public-ip", 2, 254,
            "SELECT public_ip FROM elastic_ips UNION ALL SELECT public_ip FROM instances WHERE public_ip IS NOT NULL",
            n -> Ipv4Address.format(Internet.ELASTIC_IPS.network() + (int) n),
            stored -> Ipv4Address.parse(stored) - Internet.ELASTIC_IPS.network());

    /** Every pool of the control plane. */
    public static List<IdPool> all() {
        return List.of(SUBNET_VNI, EE_VNI, VPC_VTEP, ENI_MAC, PUBLIC_IP);
    }

    /** The pool has no value left: as many resources hold one as the range has values. */
    public static final class Exhausted extends RuntimeException {
        Exhausted(IdPool pool) {
            super(pool.name + ": all " + (pool.last - pool.first + 1) + " values (" + pool.first + ".." + pool.last + ") are in use");
        }
    }

    private final String name;
    private final long first;
    private final long last;
    /** What resources hold now, as stored (see {@link #format}). */
    private final String held;
    private final LongFunction<String> format;
    private final ToLongFunction<String> parse;

    /**
     * A pool named by its row in {@code allocators}, of the values {@code first..last}, whose holders
     * {@code held} selects (one column, as stored: {@code format} of the value, {@code parse} back).
     */
    IdPool(String name, long first, long last, String held, LongFunction<String> format, ToLongFunction<String> parse) {
        if (first > last) {
            throw new IllegalArgumentException("id pool " + name + ": range " + first + ".." + last + " is empty");
        }
        this.name = name;
        this.first = first;
        this.last = last;
        this.held = held;
        this.format = format;
        this.parse = parse;
    }

    /** A pool whose holders store the number itself. */
    IdPool(String name, long first, long last, String held) {
        this(name, first, last, held, Long::toString, Long::parseLong);
    }

    public long first() {
        return first;
    }

    public long last() {
        return last;
    }

    public String name() {
        return name;
    }

    /** A value as its resource stores it (the number itself unless the pool says otherwise). */
    public String format(long n) {
        return format.apply(n);
    }

    /** The inverse of {@link #format}. */
    public long parse(String stored) {
        return parse.applyAsLong(stored);
    }

    /**
     * Takes a value for a resource this transaction creates. Store it on the resource before taking
     * another from the same pool in the same transaction: a reclaim counts what resources hold.
     */
    public long take(Connection c) throws SQLException {
        long next = Math.max(first, Sql.count(c, "SELECT next_value FROM allocators WHERE name = ? FOR UPDATE", name));
        if (next <= last) {
            Sql.update(c, "UPDATE allocators SET next_value = ? WHERE name = ?", next + 1, name);
            return next;
        }
        OptionalLong released = takeReleased(c);
        if (released.isEmpty() && reclaim(c)) {
            released = takeReleased(c);
        }
        if (released.isEmpty()) {
            throw new Exhausted(this);
        }
        return released.getAsLong();
    }

    /**
     * Gives back the value of a resource this transaction deletes. Values outside the range (numbered
     * before the range had bounds) are not handed out again.
     */
    public void release(Connection c, long value) throws SQLException {
        if (value >= first && value <= last) {
            Sql.update(c, "INSERT INTO id_pool_released (pool, first_value, last_value) VALUES (?, ?, ?)", name, value, value);
        }
    }

    /** {@link #release} of a value as its resource stored it. */
    public void releaseStored(Connection c, String stored) throws SQLException {
        if (stored != null) {
            release(c, parse(stored));
        }
    }

    /** The oldest released value, off the list; empty when nothing is released. */
    private OptionalLong takeReleased(Connection c) throws SQLException {
        long seq;
        long from;
        long to;
        try (PreparedStatement s = Sql.prepare(c, "SELECT seq, first_value, last_value FROM id_pool_released WHERE pool = ?"
                + " ORDER BY seq FETCH FIRST 1 ROWS ONLY", name); ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                return OptionalLong.empty();
            }
            seq = r.getLong(1);
            from = r.getLong(2);
            to = r.getLong(3);
        }
        if (from == to) {
            Sql.update(c, "DELETE FROM id_pool_released WHERE seq = ?", seq);
        } else {
            Sql.update(c, "UPDATE id_pool_released SET first_value = ? WHERE seq = ?", from + 1, seq);
        }
        return OptionalLong.of(from);
    }

    /**
     * Lists as released every value of the range that neither a resource holds nor the list has;
     * true if there was any. Resources are read before the list: a release that commits in between
     * is then seen on the list, and one that commits later was still seen held.
     */
    private boolean reclaim(Connection c) throws SQLException {
        List<long[]> taken = new ArrayList<>();
        for (String stored : Sql.strings(c, held)) {
            long v = parse(stored);
            taken.add(new long[] {v, v});
        }
        try (PreparedStatement s = Sql.prepare(c, "SELECT first_value, last_value FROM id_pool_released WHERE pool = ?", name);
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                taken.add(new long[] {r.getLong(1), r.getLong(2)});
            }
        }
        taken.sort(Comparator.comparingLong(range -> range[0]));
        long from = first;
        boolean any = false;
        for (long[] range : taken) {
            if (range[0] > from) {
                any |= list(c, from, Math.min(range[0] - 1, last));
            }
            from = Math.max(from, range[1] + 1);
        }
        return list(c, from, last) || any;
    }

    private boolean list(Connection c, long from, long to) throws SQLException {
        if (from > to) {
            return false;
        }
        Sql.update(c, "INSERT INTO id_pool_released (pool, first_value, last_value) VALUES (?, ?, ?)", name, from, to);
        return true;
    }

    @Override
    public String toString() {
        return name;
    }
}
