package io.hyperplane.linux.underlay;

import io.hyperplane.linux.exec.CommandFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * Steers one or more {@link ResilientNexthopGroup}s (each in slot mode: one slot per fleet member,
 * by its index) from a fleet's membership and one {@link UdpLivenessProber}'s verdicts: a worker
 * host has one group, a lab fabric one per VPC router, all following the same prober.
 * <p>Where each member's slot points ({@link #targets}, one rule per case):
 * <ol>
 *   <li>the member is in service and not down: its own address;</li>
 *   <li>else its backup, or the backup's backup, and so on, the first that is in service and not
 *       down: the node that holds its flows' copies (its slot is <em>re-pointed</em>, never
 *       removed: removing it would spread its buckets over every survivor, re-pointing sends all
 *       of them to the one node that can carry them);</li>
 *   <li>else, when it is not known to be down (out of service with nobody to cover: a fleet just
 *       heard of, say): its own address;</li>
 *   <li>else where it points already (its own address if it points nowhere yet): nobody can
 *       take its flows, so nothing moves;</li>
 * </ol>
 * and when every member is down the destination is blackholed. A member the prober found down
 * stays <em>evicted</em> (treated as down) when it answers again from a new process (a new
 * incarnation in its answers: it restarted, its flows gone), until a membership arrives that has
 * it out of service: a node that comes back resynchronises, out of service, before it is put back
 * in (docs/fleet.md, "Return"). One that answers again as the same process only went quiet for a
 * moment (a node starved of CPU past the prober's misses) and holds its flows: it is taken back at
 * once, or its slot would stay at the backup while its replies still came to it by their port
 * block. Only a member that has answered can be found down: one
 * that never answered (a node that does not answer probes, or one dead since before this sender
 * started) is steered by the membership alone, whose in-service flag comes from heartbeats; so a
 * sender that starts (or a restarted one that adopts its groups) points everything home at once.
 * <p>One log line per slot that changes where it points. Thread-safe: the prober's thread and
 * whoever hands in a new membership both call.
 */
public final class SteeredGroups implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SteeredGroups.class);

    /** A fleet member as the plan has it; {@code backup} 0: none. */
    public record Member(int index, Inet4Address address, boolean inService, int backup) {
    }

    private final String name;
    private final int probePort;
    private final UdpLivenessProber prober; // null: no liveness, membership alone
    private final List<ResilientNexthopGroup> groups = new CopyOnWriteArrayList<>();
    private final Set<Integer> evicted = new HashSet<>();
    /** Addresses that have answered a probe: only those can be found dead by the prober. */
    private final Set<InetAddress> answered = new HashSet<>();
    /**
     * The incarnation each address last came up as, and each evicted member's when it was found
     * down: kept apart, since a restarted node can come up (a new incarnation) and go quiet again
     * while still evicted, and only its incarnation at the eviction says it is the same process.
     */
    private final Map<InetAddress, Integer> incarnations = new HashMap<>();
    private final Map<Integer, Integer> evictedIncarnations = new HashMap<>();
    private List<Member> members = List.of();
    private SortedMap<Integer, Inet4Address> targets = new TreeMap<>();

    private SteeredGroups(String name, int probePort, String probeNamespace, InetSocketAddress probeFrom, UdpLivenessProber.Settings settings)
            throws IOException {
        this.name = name;
        this.probePort = probePort;
        this.prober = probeNamespace == null ? null : UdpLivenessProber.start(probeNamespace, probeFrom, settings,
                new UdpLivenessProber.Listener() {
                    @Override
                    public void up(InetSocketAddress target, int incarnation) {
                        answered(target.getAddress(), incarnation);
                    }

                    @Override
                    public void down(InetSocketAddress target, Duration silent) {
                        evict(target.getAddress());
                    }
                });
    }

    /**
     * Probes every member's {@code probePort} from {@code probeFrom} inside {@code probeNamespace}
     * and steers by the verdicts; {@code name} says whose groups these are in log lines.
     */
    public static SteeredGroups probed(String name, String probeNamespace, InetSocketAddress probeFrom, int probePort,
                                       UdpLivenessProber.Settings settings) throws IOException {
        return new SteeredGroups(name, probePort, probeNamespace, probeFrom, settings);
    }

    /** Steers by membership alone: every member home, or at its backup while out of service (a process that does not stay to probe). */
    public static SteeredGroups unprobed(String name) {
        try {
            return new SteeredGroups(name, 0, null, null, null);
        } catch (IOException e) {
            throw new IllegalStateException(e); // opens nothing without a prober
        }
    }

    /** Steers {@code group} too, pointing its slots where the others' point now. */
    public synchronized void add(ResilientNexthopGroup group) {
        groups.add(group);
        point(group, targets);
    }

    /** Stops steering {@code group} (its owner closes it). */
    public synchronized void remove(ResilientNexthopGroup group) {
        groups.remove(group);
    }

    /** A new membership (the plan changed): re-steers every group. */
    public synchronized void members(Collection<Member> next) {
        members = List.copyOf(next);
        Set<Integer> present = new HashSet<>();
        for (Member m : members) {
            present.add(m.index());
            if (!m.inService() && evicted.remove(m.index())) {
                evictedIncarnations.remove(m.index());
                LOG.info("{}: fleet member {} ({}) is out of service: it comes back once in service and answering", name, m.index(),
                        m.address().getHostAddress());
            }
        }
        evicted.retainAll(present);
        evictedIncarnations.keySet().retainAll(present);
        if (prober != null) {
            Set<InetSocketAddress> probed = new LinkedHashSet<>();
            members.forEach(m -> probed.add(new InetSocketAddress(m.address(), probePort)));
            prober.targets(probed);
        }
        steer();
    }

    /** Where each member's slot points now, by index; empty: blackholed. */
    public synchronized SortedMap<Integer, Inet4Address> targets() {
        return new TreeMap<>(targets);
    }

    private synchronized void answered(InetAddress address, int incarnation) {
        answered.add(address);
        incarnations.put(address, incarnation);
        for (Member m : members) {
            Integer was = evictedIncarnations.get(m.index());
            if (m.address().equals(address) && was != null && was == incarnation && evicted.remove(m.index())) {
                evictedIncarnations.remove(m.index());
                LOG.info("{}: fleet member {} ({}) answers again as the same process: it went quiet, not down", name, m.index(),
                        address.getHostAddress());
            }
        }
        steer();
    }

    private synchronized void evict(InetAddress address) {
        if (!answered.contains(address)) {
            return; // never answered: a node that does not answer probes, or dead since before we started (heartbeats take it out)
        }
        for (Member m : members) {
            if (m.address().equals(address) && evicted.add(m.index())) {
                evictedIncarnations.put(m.index(), incarnations.getOrDefault(address, 0));
                steer();
                return;
            }
        }
    }

    private synchronized void steer() {
        SortedMap<Integer, Inet4Address> next = targets(members, this::down, targets);
        if (next.equals(targets)) {
            return;
        }
        Map<Integer, Member> byIndex = new HashMap<>();
        members.forEach(m -> byIndex.put(m.index(), m));
        if (next.isEmpty() && !members.isEmpty()) {
            LOG.info("{}: every fleet member is down: the anycast address is blackholed", name);
        }
        next.forEach((index, via) -> {
            if (!via.equals(targets.get(index))) {
                Member m = byIndex.get(index);
                LOG.info("{}: fleet member {} ({}) now via {}{}", name, index, m.address().getHostAddress(), via.getHostAddress(),
                        via.equals(m.address()) ? " (home)" : " (" + (down(m) ? "it is down" : "it is out of service") + ")");
            }
        });
        targets = next;
        groups.forEach(g -> point(g, next));
    }

    private void point(ResilientNexthopGroup group, SortedMap<Integer, Inet4Address> via) {
        try {
            group.slots(via);
        } catch (CommandFailedException e) {
            // The group re-read the kernel; the next change (or membership) converges it again.
            LOG.error("{}: cannot point {} at {}: {}", name, group, via, e.getMessage());
        }
    }

    private boolean down(Member m) {
        return evicted.contains(m.index());
    }

    /** The rules of the class comment, over {@code members}; {@code current}: where slots point now. */
    static SortedMap<Integer, Inet4Address> targets(List<Member> members, Function<Member, Boolean> down,
                                                    SortedMap<Integer, Inet4Address> current) {
        SortedMap<Integer, Inet4Address> out = new TreeMap<>();
        Map<Integer, Member> byIndex = new HashMap<>();
        members.forEach(m -> byIndex.put(m.index(), m));
        boolean anyUp = false;
        for (Member m : members) {
            boolean isDown = down.apply(m);
            anyUp |= !isDown;
            Inet4Address via = null;
            if (m.inService() && !isDown) {
                via = m.address();
            }
            Set<Integer> seen = new HashSet<>(List.of(m.index()));
            for (Member b = byIndex.get(m.backup()); via == null && b != null && seen.add(b.index()); b = byIndex.get(b.backup())) {
                if (b.inService() && !down.apply(b)) {
                    via = b.address();
                }
            }
            if (via == null) {
                via = isDown ? current.getOrDefault(m.index(), m.address()) : m.address();
            }
            out.put(m.index(), via);
        }
        return anyUp ? out : new TreeMap<>();
    }

    /** Stops probing; the groups stay as they are (their owners close them). */
    @Override
    public void close() throws IOException {
        if (prober != null) {
            prober.close();
        }
    }

    @Override
    public String toString() {
        return name + " " + new ArrayList<>(targets.entrySet());
    }
}
