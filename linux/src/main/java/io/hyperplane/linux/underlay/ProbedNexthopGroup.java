package io.hyperplane.linux.underlay;

import io.hyperplane.linux.exec.CommandFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A {@link ResilientNexthopGroup} whose members are the addresses that are <em>admitted</em> (told
 * to be in service, by whoever knows: the control plane) and <em>answer</em> a
 * {@link UdpLivenessProber} in the same namespace.
 * <pre>
 *              admit(a)                         prober: a up
 *   (unknown) ─────────► admitted ──────────────────────────► member
 *                           ▲                                   │ prober: a down (K misses)
 *                           │ admit(a): resynchronised           ▼
 *                           └──────────────────────────────── evicted   (still probed, never a member)
 *   retire(a) from any state: forgotten, no longer probed
 * </pre>
 * One rule per case, in {@link #wanted}: an admitted address is a member while the prober says
 * it is up; one the prober has no verdict on yet (just started) keeps whatever membership the
 * kernel already gives it, so an agent that restarts and adopts its group does not drop live
 * members for the few milliseconds before the first answers. A dead member leaves with one
 * {@code ip nexthop replace} on the prober's thread. A member that comes back answers probes
 * again but stays out until {@link #admit} is called for it anew: a returning node must
 * resynchronise its flows before it takes traffic (DESIGN.md §10). An admitted address that was
 * never a member and does not answer is not evicted: it joins on its first answer.
 */
public final class ProbedNexthopGroup implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProbedNexthopGroup.class);

    /** Told after a prober transition of an admitted address was applied to the group; for measurements and logs. */
    public interface Changes {
        Changes NONE = (address, up, members) -> { };

        void changed(Inet4Address address, boolean up, Set<Inet4Address> members);
    }

    private final ResilientNexthopGroup group;
    private final int probePort;
    private final Changes changes;
    private final Set<Inet4Address> admitted = new LinkedHashSet<>();
    private final Set<Inet4Address> evicted = new LinkedHashSet<>();
    private final UdpLivenessProber prober;

    private ProbedNexthopGroup(ResilientNexthopGroup group, int probePort, Changes changes, InetSocketAddress probeFrom,
                               UdpLivenessProber.Settings settings) throws IOException {
        this.group = group;
        this.probePort = probePort;
        this.changes = changes;
        this.prober = UdpLivenessProber.start(group.settings().namespace(), probeFrom, settings, new UdpLivenessProber.Listener() {
            @Override
            public void up(InetSocketAddress target, int incarnation) {
                onUp(target.getAddress());
            }

            @Override
            public void down(InetSocketAddress target, Duration silent) {
                onDown(target.getAddress());
            }
        });
    }

    /**
     * Probes from {@code probeFrom} (in the group's namespace) to each address's {@code probePort};
     * the group's current members are kept only while they answer, none is added before
     * {@link #admit}.
     */
    public static ProbedNexthopGroup start(ResilientNexthopGroup group, InetSocketAddress probeFrom, int probePort,
                                           UdpLivenessProber.Settings settings, Changes changes) throws IOException {
        return new ProbedNexthopGroup(group, probePort, changes, probeFrom, settings);
    }

    /** In service (first time, or resynchronised after an eviction): a member as soon as, and while, it answers. */
    public void admit(Inet4Address address) {
        admit(Set.of(address));
    }

    /** As {@link #admit(Inet4Address)} for several at once: one change to the group. */
    public synchronized void admit(Collection<Inet4Address> addresses) {
        boolean changed = false;
        for (Inet4Address address : addresses) {
            evicted.remove(address);
            changed |= admitted.add(address);
        }
        if (changed) {
            retarget();
            converge();
        }
    }

    /** Out of service for good (decommissioned): leaves the group and is no longer probed. */
    public synchronized void retire(Inet4Address address) {
        boolean known = admitted.remove(address) | evicted.remove(address);
        if (known) {
            retarget();
            converge();
        }
    }

    /** The group's members as the kernel has them. */
    public Set<Inet4Address> members() {
        return group.members();
    }

    /** Evicted after missing probes and not yet admitted again. */
    public synchronized Set<Inet4Address> evicted() {
        return Set.copyOf(evicted);
    }

    /** Answering probes right now, member or not. */
    public boolean answers(Inet4Address address) {
        return prober.isUp(target(address));
    }

    private synchronized void onUp(InetAddress address) {
        Inet4Address a = (Inet4Address) address;
        if (admitted.contains(a)) {
            converge();
            changes.changed(a, true, group.members());
        } else if (evicted.contains(a)) {
            LOG.info("underlay {}: answers again; stays out of {} until admitted (resynchronised)", a.getHostAddress(), group);
        }
    }

    private synchronized void onDown(InetAddress address) {
        Inet4Address a = (Inet4Address) address;
        if (admitted.contains(a) && group.members().contains(a)) {
            admitted.remove(a);
            evicted.add(a);
            converge();
            changes.changed(a, false, group.members());
        }
    }

    private void converge() {
        Set<Inet4Address> wanted = wanted();
        try {
            group.members(wanted);
        } catch (CommandFailedException e) {
            // The group re-read the kernel; the next transition or admission converges again.
            LOG.error("{}: cannot set members {}: {}", group, wanted, e.getMessage());
        }
    }

    private Set<Inet4Address> wanted() {
        Set<Inet4Address> members = group.members();
        Set<Inet4Address> wanted = new HashSet<>();
        for (Inet4Address a : admitted) {
            switch (prober.verdict(target(a))) {
                case UP -> wanted.add(a);
                case UNKNOWN -> {
                    if (members.contains(a)) {
                        wanted.add(a);
                    }
                }
                case DOWN -> { }
            }
        }
        return wanted;
    }

    private void retarget() {
        Set<InetSocketAddress> targets = new LinkedHashSet<>();
        admitted.forEach(a -> targets.add(target(a)));
        evicted.forEach(a -> targets.add(target(a)));
        prober.targets(targets);
    }

    private InetSocketAddress target(Inet4Address address) {
        return new InetSocketAddress(address, probePort);
    }

    /** Stops probing; the group and its route stay as they are (close the group to remove them). */
    @Override
    public void close() throws IOException {
        prober.close();
    }

    @Override
    public String toString() {
        return group + ", admitted " + admitted.stream().map(Inet4Address::getHostAddress).collect(Collectors.joining(","));
    }
}
