package io.hyperplane.linux.underlay;

import io.hyperplane.linux.exec.CommandFailedException;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;
import io.hyperplane.linux.netns.Namespaces;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One destination ({@code DEST/32}) reached through a kernel <em>resilient</em> nexthop group in a
 * network namespace: the per-flow spreading of a sender (worker host, VPC router) over the nodes
 * that share an anycast tunnel address (issue 17; docs/architecture.md, "The fleet's underlay").
 * <pre>
 *   ip route DEST/32 nhid G                     G = settings.groupId()
 *   ip nexthop id G group M1/M2/.. type resilient buckets B idle_timer I unbalanced_timer U
 *   ip nexthop id G+1 blackhole                 the group's only member when the set is empty
 *   ip nexthop id G+2 .. G+1+maxMembers         one per member address: via ADDR dev DEVICE
 * </pre>
 * The kernel hashes each packet to one of B buckets and each bucket to a member; on a member's
 * removal only its buckets move (measured: 0 of 209 survivors' flows moved, where a plain multipath
 * route moved 57 of 205), and a member that joins takes only buckets idle for {@code idle_timer},
 * or any after the group has been unbalanced for {@code unbalanced_timer}. The hash covers the
 * UDP ports because this sets {@code net.ipv4.fib_multipath_hash_policy=1} in the namespace, and
 * a kernel VXLAN device derives its outer source port from the inner flow: one node per inner flow.
 * <p>{@link #members} converges with one {@code ip -batch} run and no run when nothing changes; a
 * member's removal is the single line {@code nexthop replace id G group ...}. A removed member's
 * nexthop object stays (for its return, one line again) until {@link #close}. Everything this
 * makes has an id in its range; {@link #open} adopts what a previous owner (a process that died)
 * left there, and {@link #close} removes exactly those ids and the route.
 * Methods are synchronized: a prober's thread and a control-plane listener may both call.
 */
public final class ResilientNexthopGroup implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ResilientNexthopGroup.class);
    private static final Pattern PLAIN_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final int IFNAMSIZ = 15;
    static final String MULTIPATH_HASH_POLICY = "net.ipv4.fib_multipath_hash_policy";
    /** Policy 1: source and destination address, protocol and ports (ip-sysctl.rst). */
    static final int HASH_ON_PORTS = 1;
    /** Nexthop ids are u32, 0 meaning none; kept in int's positive range here. */
    private static final long MAX_ID = Integer.MAX_VALUE;

    /**
     * Stands for an object in the range that does not go via an address on the device: never wanted,
     * so it is the first to be reused and is removed on close.
     */
    private static final Inet4Address UNUSABLE = Inet4Address.ofLiteral("0.0.0.0");

    // Lines of `ip nexthop show` and `ip route show` as iproute2 6.1 prints them.
    private static final Pattern ID = Pattern.compile("^id (\\d+) (.*)$");
    private static final Pattern VIA = Pattern.compile("^via (\\d+\\.\\d+\\.\\d+\\.\\d+) dev (\\S+)(?: .*)?$");
    private static final Pattern GROUP = Pattern.compile("^group ([\\d/]+) type resilient buckets (\\d+)(?: .*)?$");
    private static final Pattern ROUTE_NHID = Pattern.compile("(?:^|\\s)nhid (\\d+)(?:\\s|$)");

    /** Runs {@code ip -n NAMESPACE ARGS...} with optional standard input; a seam for tests. */
    @FunctionalInterface
    interface Ip {
        ExecResult run(List<String> args, String input);

        static Ip in(String namespace) {
            return (args, input) -> Commands.run(Commands.DEFAULT_TIMEOUT, Namespaces.ipIn(namespace, args.toArray(String[]::new)), input);
        }
    }

    /**
     * Where and how: the namespace, the device toward the members, the destination, the id range
     * {@code groupId .. groupId + 1 + maxMembers}, and the group's buckets and timers.
     */
    public record Settings(String namespace, String device, Inet4Address destination, int groupId, int maxMembers, int buckets,
                           Duration idleTimer, Duration unbalancedTimer) {
        /**
         * 128 buckets: every member's share is within 1/128 (under 1%) of fair for the fleet sizes we
         * run (2–8 nodes), and a removal moves 1/N of them in one kernel operation. The kernel's
         * limit is 2^16-1; more buckets only cost memory per group.
         */
        public static final int DEFAULT_BUCKETS = 128;
        /** Half the buckets: past that a member's share (2 buckets of 128) is too coarse to be fair. */
        public static final int DEFAULT_MAX_MEMBERS = DEFAULT_BUCKETS / 2;
        /**
         * A returning member takes a bucket only once no packet used it for 2 s: 20 times the
         * gap of the chattiest test flows (a message every 100 ms) and far longer than a
         * TCP round trip here, so a bucket that carries a live flow is never moved on return; a flow
         * idle that long whose bucket moves reaches a node that has resynchronised (it was admitted
         * only then) and holds or redirects to its state. The kernel's default (120 s) would leave a
         * returning node without traffic for minutes.
         */
        public static final Duration DEFAULT_IDLE_TIMER = Duration.ofSeconds(2);
        /**
         * Under steady load no bucket is ever idle; after 30 s unbalanced the kernel moves busy
         * buckets too, so a returning node gets its share within that bound. Moving a live flow
         * then costs it no state (the returning node has resynchronised), only a path change;
         * the kernel's default, 0, would never rebalance a busy group.
         */
        public static final Duration DEFAULT_UNBALANCED_TIMER = Duration.ofSeconds(30);
        /** ip-nexthop(8) takes whole seconds; the kernel keeps clock ticks in 32 bits. */
        static final long MAX_TIMER_SECONDS = 1_000_000;

        public Settings {
            if (namespace == null || !PLAIN_NAME.matcher(namespace).matches()) {
                throw new IllegalArgumentException("namespace '" + namespace + "': must be a plain name");
            }
            if (device == null || !PLAIN_NAME.matcher(device).matches() || device.length() > IFNAMSIZ) {
                throw new IllegalArgumentException("device '" + device + "': must be a plain name of at most " + IFNAMSIZ + " characters");
            }
            if (destination == null) {
                throw new IllegalArgumentException("destination: required");
            }
            if (maxMembers < 1) {
                throw new IllegalArgumentException("maxMembers " + maxMembers + ": must be at least 1");
            }
            if (groupId < 1 || groupId + 1L + maxMembers > MAX_ID) {
                throw new IllegalArgumentException("groupId " + groupId + ": ids " + groupId + ".." + (groupId + 1L + maxMembers)
                        + " must lie in 1.." + MAX_ID);
            }
            if (buckets < maxMembers || buckets > 0xffff) {
                throw new IllegalArgumentException("buckets " + buckets + ": must be " + maxMembers + " (maxMembers)..65535");
            }
            checkTimer("idleTimer", idleTimer);
            checkTimer("unbalancedTimer", unbalancedTimer);
        }

        /** The defaults for buckets, timers and room. */
        public static Settings of(String namespace, String device, Inet4Address destination, int groupId) {
            return new Settings(namespace, device, destination, groupId, DEFAULT_MAX_MEMBERS, DEFAULT_BUCKETS, DEFAULT_IDLE_TIMER,
                    DEFAULT_UNBALANCED_TIMER);
        }

        int blackholeId() {
            return groupId + 1;
        }

        int firstMemberId() {
            return groupId + 2;
        }

        int lastMemberId() {
            return groupId + 1 + maxMembers;
        }

        String prefix() {
            return destination.getHostAddress() + "/32";
        }

        private static void checkTimer(String name, Duration timer) {
            if (timer == null || timer.isNegative() || timer.toNanosPart() != 0 || timer.toSeconds() > MAX_TIMER_SECONDS) {
                throw new IllegalArgumentException(name + " " + timer + ": must be whole seconds, 0.." + MAX_TIMER_SECONDS);
            }
        }
    }

    private final Settings settings;
    private final Ip ip;
    private KernelState state;

    private ResilientNexthopGroup(Settings settings, Ip ip, KernelState state) {
        this.settings = settings;
        this.ip = ip;
        this.state = state;
    }

    /**
     * Takes charge of the group in {@code settings.namespace()}: adopts whatever is already there in
     * its id range (a previous owner's), changing nothing until {@link #members} is called, and
     * sets the namespace's multipath hash to cover the UDP ports.
     */
    public static ResilientNexthopGroup open(Settings settings) {
        // Layer-4 hash (RFC 6438 is why VXLAN's source port carries the inner flow): without it every
        // flow to the destination hashes alike and lands on one member. Per namespace; never the root one.
        Commands.check(Namespaces.execIn(settings.namespace(),
                List.of(Tools.command(Tool.SYSCTL), "-qw", MULTIPATH_HASH_POLICY + "=" + HASH_ON_PORTS)));
        return open(settings, Ip.in(settings.namespace()));
    }

    /** Adopts without touching the sysctl: for tests that feed {@code ip}'s answers by hand. */
    static ResilientNexthopGroup open(Settings settings, Ip ip) {
        return new ResilientNexthopGroup(settings, ip, read(settings, ip));
    }

    public Settings settings() {
        return settings;
    }

    /** The addresses the group sends to now: empty when the destination is blackholed. */
    public synchronized Set<Inet4Address> members() {
        return state.members();
    }

    /**
     * Makes {@code wanted} the group's members: a removal is one {@code nexthop replace} of the
     * group, an addition that and, the first time an address is seen, one {@code nexthop add};
     * nothing runs when the kernel already has it. The empty set blackholes the destination (the
     * group's only member becomes the blackhole nexthop): packets to it are dropped here, not
     * sent to a node that left.
     *
     * @throws CommandFailedException when {@code ip} refuses; the kernel's state is read again, so
     *     the next call converges from what is really there
     * @throws IllegalArgumentException when more addresses are wanted than the id range holds
     */
    public synchronized void members(Set<Inet4Address> wanted) {
        if (wanted.contains(UNUSABLE)) {
            throw new IllegalArgumentException("members: 0.0.0.0 is not an address to send to");
        }
        if (wanted.size() > settings.maxMembers()) {
            throw new IllegalArgumentException("members: " + wanted.size() + " addresses, room for " + settings.maxMembers());
        }
        Plan plan = plan(settings, state, wanted);
        if (plan.lines().isEmpty()) {
            return;
        }
        try {
            check(ip, List.of("-batch", "-"), String.join("\n", plan.lines()) + "\n");
            state = plan.after();
            LOG.info("{}: members {}", this, wanted.stream().map(Inet4Address::getHostAddress).sorted().toList());
        } catch (CommandFailedException e) {
            state = read(settings, ip);
            throw e;
        }
    }

    /**
     * The nexthop id of member slot {@code slot} (1..maxMembers) when the group is driven by
     * {@link #slots}: what a route that must reach that one member (and whoever stands in for it)
     * names with {@code nhid}.
     */
    public int slotId(int slot) {
        if (slot < 1 || slot > settings.maxMembers()) {
            throw new IllegalArgumentException("slot " + slot + ": must be 1.." + settings.maxMembers());
        }
        return settings.firstMemberId() + slot - 1;
    }

    /**
     * Makes the group's members exactly the slots of {@code via}, slot s being the nexthop object
     * {@link #slotId}(s) and going via {@code via.get(s)}: a fleet member's place in the group
     * that stays while the member is away. Pointing a slot at another address is one
     * {@code nexthop replace id X via ADDR} and moves no bucket (measured): every flow that hashed
     * to the slot goes to the new address, every other flow stays where it was. Only adding or
     * removing slots replaces the group (a removed slot's buckets move to the others). The empty
     * map blackholes the destination. Use either this or {@link #members(Set)} on one group, not both.
     *
     * @throws CommandFailedException when {@code ip} refuses; the kernel's state is read again
     */
    public synchronized void slots(SortedMap<Integer, Inet4Address> via) {
        via.keySet().forEach(this::slotId);
        if (via.containsValue(UNUSABLE)) {
            throw new IllegalArgumentException("slots: 0.0.0.0 is not an address to send to");
        }
        Plan plan = planSlots(settings, state, via);
        if (plan.lines().isEmpty()) {
            return;
        }
        try {
            check(ip, List.of("-batch", "-"), String.join("\n", plan.lines()) + "\n");
            state = plan.after();
        } catch (CommandFailedException e) {
            state = read(settings, ip);
            throw e;
        }
    }

    /** Where each slot in the group points now, by slot; empty when the destination is blackholed. */
    public synchronized SortedMap<Integer, Inet4Address> slots() {
        SortedMap<Integer, Inet4Address> out = new TreeMap<>();
        if (state.routeToGroup()) {
            for (int id : state.groupMembers()) {
                Inet4Address address = state.objects().get(id);
                if (address != null && !address.equals(UNUSABLE)) {
                    out.put(id - settings.firstMemberId() + 1, address);
                }
            }
        }
        return out;
    }

    /** The lines from {@code now} to the slots of {@code via}: each slot's object made or re-pointed, then group and route. */
    static Plan planSlots(Settings settings, KernelState now, SortedMap<Integer, Inet4Address> via) {
        List<String> lines = new ArrayList<>();
        Map<Integer, Inet4Address> objects = new TreeMap<>(now.objects());
        List<Integer> members = new ArrayList<>();
        via.forEach((slot, address) -> {
            int id = settings.firstMemberId() + slot - 1;
            Inet4Address was = objects.get(id);
            if (!address.equals(was)) {
                lines.add("nexthop " + (was == null ? "add" : "replace") + " id " + id + " via " + address.getHostAddress() + " dev "
                        + settings.device());
                objects.put(id, address);
            }
            members.add(id);
        });
        return groupAndRoute(settings, now, members.isEmpty() ? List.of(settings.blackholeId()) : members, lines, objects);
    }

    /** Removes the route (if it still names the group), the group and every nexthop in the id range. */
    @Override
    public synchronized void close() {
        List<String> lines = new ArrayList<>();
        if (state.routeToGroup()) {
            lines.add("route del " + settings.prefix() + " nhid " + settings.groupId());
        }
        if (state.groupExists()) {
            lines.add("nexthop del id " + settings.groupId());
        }
        if (state.blackholeExists()) {
            lines.add("nexthop del id " + settings.blackholeId());
        }
        state.objects().keySet().forEach(id -> lines.add("nexthop del id " + id));
        if (!lines.isEmpty()) {
            check(ip, List.of("-batch", "-"), String.join("\n", lines) + "\n");
        }
        state = KernelState.EMPTY;
    }

    /** What the kernel holds in this group's id range and for its destination. */
    record KernelState(boolean routeToGroup, boolean groupExists, int groupBuckets, List<Integer> groupMembers, boolean blackholeExists,
                       Map<Integer, Inet4Address> objects) {
        static final KernelState EMPTY = new KernelState(false, false, 0, List.of(), false, Map.of());

        KernelState {
            groupMembers = List.copyOf(groupMembers);
            objects = Collections.unmodifiableSortedMap(new TreeMap<>(objects)); // by id: batches read the same every time
        }

        /** Member addresses in the group, if the route sends to it; the blackhole is not a member. */
        Set<Inet4Address> members() {
            if (!routeToGroup) {
                return Set.of();
            }
            return groupMembers.stream().map(objects::get).filter(a -> a != null && !a.equals(UNUSABLE))
                    .collect(Collectors.toUnmodifiableSet());
        }
    }

    /** The batch to run ({@code ip -batch} lines, none when converged) and the state after it. */
    record Plan(List<String> lines, KernelState after) {
    }

    /**
     * The fewest lines from {@code now} to {@code wanted}: nexthop objects for new addresses (reusing
     * the id of an address no longer wanted before taking a fresh one), then the group, then the
     * route. One rule per case, in the order the kernel needs them.
     */
    static Plan plan(Settings settings, KernelState now, Set<Inet4Address> wanted) {
        List<String> lines = new ArrayList<>();
        Map<Integer, Inet4Address> objects = new TreeMap<>(now.objects());
        Map<Inet4Address, Integer> idOf = new HashMap<>();
        objects.forEach((id, address) -> idOf.put(address, id));
        List<Integer> spare = objects.entrySet().stream().filter(e -> !wanted.contains(e.getValue())).map(Map.Entry::getKey)
                .filter(id -> !now.groupMembers().contains(id) || !now.routeToGroup()).collect(Collectors.toCollection(ArrayList::new));
        List<Inet4Address> newcomers = wanted.stream().filter(a -> !idOf.containsKey(a))
                .sorted((a, b) -> Integer.compareUnsigned(toInt(a), toInt(b))).toList();
        int fresh = settings.firstMemberId();
        for (Inet4Address address : newcomers) {
            int id;
            String verb;
            // Rule: a free id first; else an object whose address is no longer wanted and is not in the live group.
            while (fresh <= settings.lastMemberId() && objects.containsKey(fresh)) {
                fresh++;
            }
            if (fresh <= settings.lastMemberId()) {
                id = fresh++;
                verb = "add";
            } else if (!spare.isEmpty()) {
                id = spare.removeFirst();
                verb = "replace";
            } else {
                throw new IllegalArgumentException("members: no free nexthop id in " + settings.firstMemberId() + ".."
                        + settings.lastMemberId() + " for " + address.getHostAddress());
            }
            lines.add("nexthop " + verb + " id " + id + " via " + address.getHostAddress() + " dev " + settings.device());
            objects.put(id, address);
            idOf.put(address, id);
        }
        // Rule: the empty set is the blackhole nexthop alone; the kernel refuses an empty group.
        List<Integer> members = wanted.isEmpty() ? List.of(settings.blackholeId()) : wanted.stream().map(idOf::get).sorted().toList();
        return groupAndRoute(settings, now, members, lines, objects);
    }

    /**
     * The lines after the member objects: the blackhole object if the group is to be it alone,
     * then the group, then the route; one rule per case, in the order the kernel needs them.
     */
    private static Plan groupAndRoute(Settings settings, KernelState now, List<Integer> members, List<String> lines,
                                      Map<Integer, Inet4Address> objects) {
        boolean blackhole = now.blackholeExists();
        boolean wantedEmpty = members.equals(List.of(settings.blackholeId()));
        if (wantedEmpty && !blackhole) {
            lines.add("nexthop add id " + settings.blackholeId() + " blackhole");
            blackhole = true;
        }
        // Rule: a group that exists with the same bucket count is replaced (only changed buckets move);
        // one with another count cannot be (the kernel refuses) and is made again.
        String group = "id " + settings.groupId() + " group " + members.stream().map(String::valueOf).collect(Collectors.joining("/"))
                + " type resilient buckets " + settings.buckets() + " idle_timer " + settings.idleTimer().toSeconds()
                + " unbalanced_timer " + settings.unbalancedTimer().toSeconds();
        boolean sameMembers = Set.copyOf(now.groupMembers()).equals(Set.copyOf(members));
        boolean routeToGroup = now.routeToGroup();
        if (now.groupExists() && now.groupBuckets() != settings.buckets()) {
            lines.add("nexthop del id " + settings.groupId()); // takes routes through it along
            lines.add("nexthop add " + group);
            routeToGroup = false;
        } else if (!now.groupExists()) {
            lines.add("nexthop add " + group);
        } else if (!sameMembers) {
            lines.add("nexthop replace " + group);
        }
        if (!routeToGroup) {
            lines.add("route replace " + settings.prefix() + " nhid " + settings.groupId());
        }
        KernelState after = new KernelState(true, true, settings.buckets(), members, blackhole, objects);
        return new Plan(List.copyOf(lines), after);
    }

    /** Reads the kernel's nexthops and the destination's route; ids outside the range are not ours and ignored. */
    static KernelState read(Settings settings, Ip ip) {
        String nexthops = check(ip, List.of("nexthop", "show"), null).stdout();
        String route = check(ip, List.of("route", "show", settings.prefix()), null).stdout();
        return parse(settings, nexthops, route);
    }

    /**
     * Parses {@code ip nexthop show} and {@code ip route show DEST/32}. A nexthop in the range that is
     * not what this class makes (another device, another type) is still listed, so it is replaced or
     * removed rather than left behind.
     */
    static KernelState parse(Settings settings, String nexthops, String route) {
        boolean groupExists = false;
        int buckets = 0;
        List<Integer> members = List.of();
        boolean blackhole = false;
        Map<Integer, Inet4Address> objects = new TreeMap<>();
        for (String raw : nexthops.split("\n")) {
            var line = ID.matcher(raw.strip());
            if (!line.matches()) {
                continue;
            }
            long id = Long.parseLong(line.group(1));
            String rest = line.group(2);
            if (id == settings.groupId()) {
                groupExists = true;
                var group = GROUP.matcher(rest);
                if (group.matches()) {
                    buckets = Integer.parseInt(group.group(2));
                    members = Arrays.stream(group.group(1).split("/")).map(Integer::parseInt).toList();
                }
            } else if (id == settings.blackholeId()) {
                blackhole = true;
            } else if (id >= settings.firstMemberId() && id <= settings.lastMemberId()) {
                var via = VIA.matcher(rest);
                Inet4Address address = via.matches() && via.group(2).equals(settings.device()) ? Inet4Address.ofLiteral(via.group(1)) : null;
                objects.put((int) id, address == null ? UNUSABLE : address);
            }
        }
        var nhid = ROUTE_NHID.matcher(route);
        boolean routeToGroup = groupExists && nhid.find() && Long.parseLong(nhid.group(1)) == settings.groupId();
        return new KernelState(routeToGroup, groupExists, buckets, members, blackhole, objects);
    }

    private static int toInt(Inet4Address address) {
        byte[] b = address.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    private static ExecResult check(Ip ip, List<String> args, String input) {
        ExecResult result = ip.run(args, input);
        if (!result.ok()) {
            throw new CommandFailedException(result, result.exitCode() == -1 ? "timed out" : "exit code " + result.exitCode());
        }
        return result;
    }

    @Override
    public String toString() {
        return "nexthop group " + settings.groupId() + " for " + settings.prefix() + " in " + settings.namespace();
    }
}
