package io.hyperplane.config.fleet;

import io.hyperplane.config.fabric.SystemRanges;
import io.hyperplane.packet.Ipv4Address;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The fleet as the control plane plans it (DESIGN.md §10), the one plan that nodes and senders
 * (worker hosts, VPC routers) act on:
 * <ul>
 *   <li>every node shares the {@link #anycast} tunnel address; senders spread flows over the
 *       members with a resilient ECMP group of one nexthop per member, hashed on VXLAN's outer
 *       source port;</li>
 *   <li>each member owns NAT port blocks: a node allocates its flows' NAT ports (and ICMP
 *       identifiers) only from its own blocks, and a VPC router sends replies to a Hyperplane
 *       address to the owner of the block of their destination port, so both directions of a flow
 *       meet on the node that created it;</li>
 *   <li>each member has a {@link Member#backup}: the node that holds a copy of its flows, and to
 *       which senders re-point its nexthop while it is dead or not {@link Member#inService} (a
 *       returning node resynchronises before it is put back).</li>
 * </ul>
 * Blocks stay with their member while it is away (its backup covers them), so a node's death
 * moves no other node's traffic.
 *
 * @param version only grows; a receiver ignores a plan older than the one it acts on
 * @param anycast the fleet's tunnel address, on every node's loopback
 * @param members by index, ascending
 */
public record FleetPlan(long version, String anycast, List<Member> members) {
    /** The NAT port space (1024-65535, as a NAT gateway's) is cut into this many blocks: the most members a fleet can have. */
    public static final int PORT_BLOCKS = 16;
    /** The first port of block 0: ports below are never allocated. */
    public static final int FIRST_PORT = 1024;
    /** 64,512 ports / 16: a multiple of 64, so every block holds every residue of small thread counts equally. */
    public static final int BLOCK_PORTS = (65_536 - FIRST_PORT) / PORT_BLOCKS;
    /**
     * The fleet's tunnel address: in the underlay's lower half, where nodes and hosts live, below the
     * internet router's 198.18.255.254.
     */
    public static final String ANYCAST = "198.18.255.1";
    /** A member without a backup (the only member in service, or none). */
    public static final int NO_BACKUP = 0;
    private static final String MESSAGE = "fleet plan";
    private static final int ALL_BLOCKS = (1 << PORT_BLOCKS) - 1;

    /**
     * One node of the plan.
     *
     * @param index     1..{@link #PORT_BLOCKS}, stable for the node's name: senders' nexthop ids
     * @param inService live and resynchronised: senders send it its own traffic
     * @param backup    the index of the member that holds its flows' copies and covers for it, or {@link #NO_BACKUP}
     * @param blocks    bit b set: it owns port block b
     */
    public record Member(int index, String name, String underlayIp, boolean inService, int backup, int blocks) {
        private static final String MESSAGE = "fleet plan member";

        public Member {
            if (index < 1 || index > PORT_BLOCKS) {
                throw new IllegalArgumentException(MESSAGE + ": index " + index + " must be 1.." + PORT_BLOCKS);
            }
            Check.name(name, MESSAGE, "name");
            Check.ipv4(underlayIp, MESSAGE, "underlayIp");
            if (!SystemRanges.UNDERLAY.contains(Ipv4Address.parse(underlayIp))) {
                throw new IllegalArgumentException(MESSAGE + ": underlayIp " + underlayIp + " is not in the underlay " + SystemRanges.UNDERLAY);
            }
            if (backup == index || backup < NO_BACKUP || backup > PORT_BLOCKS) {
                throw new IllegalArgumentException(MESSAGE + ": backup " + backup + " of member " + index + " must be another member's index or 0");
            }
            if ((blocks & ~ALL_BLOCKS) != 0) {
                throw new IllegalArgumentException(MESSAGE + ": blocks 0x" + Integer.toHexString(blocks) + " outside the " + PORT_BLOCKS + " blocks");
            }
        }

        public boolean owns(int block) {
            return block >= 0 && block < PORT_BLOCKS && (blocks & (1 << block)) != 0;
        }
    }

    public FleetPlan {
        Check.atLeast(version, 0, MESSAGE, "version");
        Check.ipv4(anycast, MESSAGE, "anycast");
        members = Check.list(members, MESSAGE, "members");
        Set<String> names = new HashSet<>();
        Set<String> addresses = new HashSet<>();
        Set<Integer> indexes = new HashSet<>();
        int owned = 0;
        int previous = 0;
        for (Member m : members) {
            if (m.index() <= previous) {
                throw new IllegalArgumentException(MESSAGE + ": members must be in ascending index order, " + m.index() + " after " + previous);
            }
            previous = m.index();
            indexes.add(m.index());
            if (!names.add(m.name()) || !addresses.add(m.underlayIp())) {
                throw new IllegalArgumentException(MESSAGE + ": member " + m.index() + " repeats a name or underlay address (" + m.name()
                        + ", " + m.underlayIp() + ")");
            }
            if (m.underlayIp().equals(anycast)) {
                throw new IllegalArgumentException(MESSAGE + ": member " + m.index() + " uses the anycast address " + anycast);
            }
            if ((owned & m.blocks()) != 0) {
                throw new IllegalArgumentException(MESSAGE + ": member " + m.index() + " owns a block another member owns");
            }
            owned |= m.blocks();
        }
        for (Member m : members) {
            if (m.backup() != NO_BACKUP && !indexes.contains(m.backup())) {
                throw new IllegalArgumentException(MESSAGE + ": backup " + m.backup() + " of member " + m.index() + " is not a member");
            }
        }
        if (!members.isEmpty() && owned != ALL_BLOCKS) {
            throw new IllegalArgumentException(MESSAGE + ": every port block needs an owner");
        }
    }

    /** No nodes yet. */
    public static FleetPlan empty(long version) {
        return new FleetPlan(version, ANYCAST, List.of());
    }

    /** What a node, or a sender, needs to know of one candidate member to be planned. */
    public record Candidate(int index, String name, String underlayIp, boolean inService) {
    }

    /**
     * The plan for these candidates (any order; indexes unique): blocks dealt round robin in index
     * order, so a fleet of n owns 16/n blocks each give or take one whatever is live, and each
     * member's backup is the next member in service after it, in index order, wrapping around.
     */
    public static FleetPlan of(long version, List<Candidate> candidates) {
        List<Candidate> sorted = new ArrayList<>(candidates);
        sorted.sort((a, b) -> Integer.compare(a.index(), b.index()));
        int[] blocks = new int[sorted.size()];
        for (int b = 0; b < PORT_BLOCKS && !sorted.isEmpty(); b++) {
            blocks[b % sorted.size()] |= 1 << b;
        }
        List<Member> members = new ArrayList<>(sorted.size());
        for (int i = 0; i < sorted.size(); i++) {
            Candidate c = sorted.get(i);
            int backup = NO_BACKUP;
            for (int step = 1; step < sorted.size(); step++) {
                Candidate next = sorted.get((i + step) % sorted.size());
                if (next.inService()) {
                    backup = next.index();
                    break;
                }
            }
            members.add(new Member(c.index(), c.name(), c.underlayIp(), c.inService(), backup, blocks[i]));
        }
        return new FleetPlan(version, ANYCAST, members);
    }

    /**
     * This plan with member {@code cover}'s backup set to {@code returning}: while a node that
     * came back is out of service, the member that carried its flows copies every flow it holds
     * to it (the hand-back, docs/fleet.md "Return"). Unknown indexes change nothing.
     */
    public FleetPlan handingBack(int cover, int returning) {
        if (cover == returning || member(cover) == null || member(returning) == null) {
            return this;
        }
        List<Member> next = new ArrayList<>(members.size());
        for (Member m : members) {
            next.add(m.index() == cover ? new Member(m.index(), m.name(), m.underlayIp(), m.inService(), returning, m.blocks()) : m);
        }
        return new FleetPlan(version, anycast, next);
    }

    /**
     * The plan of nodes at these addresses, in this order, all in service, named {@code node-INDEX}:
     * for a fabric or host told only the addresses (tests, a lab without a control plane).
     */
    public static FleetPlan inService(List<String> underlayIps) {
        List<Candidate> candidates = new ArrayList<>(underlayIps.size());
        for (int i = 0; i < underlayIps.size(); i++) {
            candidates.add(new Candidate(i + 1, "node-" + (i + 1), underlayIps.get(i), true));
        }
        return of(0, candidates);
    }

    /** The block of a NAT port or ICMP identifier, -1 below {@link #FIRST_PORT} (never allocated). */
    public static int blockOf(int port) {
        if (port < FIRST_PORT || port > 65_535) {
            return -1;
        }
        return (port - FIRST_PORT) / BLOCK_PORTS;
    }

    /** The first port of a block. */
    public static int firstPortOf(int block) {
        return FIRST_PORT + block * BLOCK_PORTS;
    }

    /** The member with that index, or null. */
    public Member member(int index) {
        for (Member m : members) {
            if (m.index() == index) {
                return m;
            }
        }
        return null;
    }

    /** The member with that underlay address, or null. */
    public Member memberAt(String underlayIp) {
        for (Member m : members) {
            if (m.underlayIp().equals(underlayIp)) {
                return m;
            }
        }
        return null;
    }

    /** The owner of a port block, or null (no members). */
    public Member owner(int block) {
        for (Member m : members) {
            if (m.owns(block)) {
                return m;
            }
        }
        return null;
    }
}
