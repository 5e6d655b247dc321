package io.hyperplane.node;

import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.dataplane.flow.NatPortAllocator;
import io.hyperplane.packet.Ipv4Address;

import java.util.Arrays;

/**
 * What one node acts on of its fleet's plan (docs/fleet.md): the NAT port blocks it owns and the
 * other members' unicast underlay addresses, to which it relays the ARP answers it receives.
 * Built off the forwarding threads when a plan arrives and handed to each of them whole.
 *
 * @param version     the plan's, -1 for {@link #ALONE}
 * @param selfIndex   this node's index in the plan, 0 outside one
 * @param backupIp    the underlay address of this node's backup, 0 without one (alone, or the only member in service)
 * @param ownedBlocks bit b: this node owns port block b ({@link NatPortAllocator#ALL_BLOCKS} alone or outside a plan)
 * @param peers       the other members' underlay addresses, in index order
 * @param serving     by member index (1..16), the address of each other member in service; 0 for the rest
 */
record NodeFleet(long version, int selfIndex, int backupIp, int ownedBlocks, int[] peers, int[] serving) {
    /** No plan, or a plan without this node: every port, nobody to relay to (a node on its own, as before fleets). */
    static final NodeFleet ALONE = new NodeFleet(-1, 0, 0, NatPortAllocator.ALL_BLOCKS, new int[0], new int[FleetPlan.PORT_BLOCKS + 1]);

    NodeFleet {
        if (ownedBlocks == 0 || (ownedBlocks & ~NatPortAllocator.ALL_BLOCKS) != 0) {
            throw new IllegalArgumentException("node fleet: owned blocks 0x" + Integer.toHexString(ownedBlocks) + " must be a non-empty subset of 0x"
                    + Integer.toHexString(NatPortAllocator.ALL_BLOCKS));
        }
        peers = peers.clone();
        if (serving.length != FleetPlan.PORT_BLOCKS + 1) {
            throw new IllegalArgumentException("node fleet: serving has " + serving.length + " entries, not one per member index 0.."
                    + FleetPlan.PORT_BLOCKS);
        }
        serving = serving.clone();
    }

    /**
     * This node's part of {@code plan}, the node being the member at {@code underlayIp}. A node
     * the plan does not list yet (it has just registered) acts alone: it gets no traffic from
     * senders until it is listed, and it must not hold back its own.
     */
    static NodeFleet of(FleetPlan plan, int underlayIp) {
        FleetPlan.Member self = plan.memberAt(Ipv4Address.format(underlayIp));
        if (self == null) {
            return ALONE;
        }
        int[] peers = plan.members().stream().filter(m -> m != self).mapToInt(m -> Ipv4Address.parse(m.underlayIp())).toArray();
        int[] serving = new int[FleetPlan.PORT_BLOCKS + 1];
        plan.members().stream().filter(m -> m != self && m.inService()).forEach(m -> serving[m.index()] = Ipv4Address.parse(m.underlayIp()));
        FleetPlan.Member backup = plan.member(self.backup());
        return new NodeFleet(plan.version(), self.index(), backup == null ? 0 : Ipv4Address.parse(backup.underlayIp()),
                self.blocks() == 0 ? NatPortAllocator.ALL_BLOCKS : self.blocks(), peers, serving);
    }

    /** Whether {@code ip} is another member's unicast address: what it relays is trusted as a member's. */
    boolean isPeer(int ip) {
        for (int peer : peers) {
            if (peer == ip) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int[] peers() {
        return peers.clone();
    }

    @Override
    public int[] serving() {
        return serving.clone();
    }

    /** The address of member {@code index} if it is another member in service, else 0; without copying. */
    int servingIp(int index) {
        return index > 0 && index < serving.length ? serving[index] : 0;
    }

    /** The number of peers, without copying them. */
    int peerCount() {
        return peers.length;
    }

    /** Peer {@code i}'s address (0..{@link #peerCount()}-1), without copying. */
    int peer(int i) {
        return peers[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NodeFleet f && f.version == version && f.selfIndex == selfIndex && f.backupIp == backupIp
                && f.ownedBlocks == ownedBlocks && Arrays.equals(f.peers, peers) && Arrays.equals(f.serving, serving);
    }

    @Override
    public int hashCode() {
        return ((Long.hashCode(version) * 31 + selfIndex) * 31 + backupIp) * 31 + ownedBlocks * 17 + Arrays.hashCode(peers) * 7 + Arrays.hashCode(serving);
    }

    @Override
    public String toString() {
StringBuilder s = new StringBuilder("NodeFleet[version=" + version + ", selfIndex=" + selfIndex + ", backupIp="
                + Ipv4Address.format(backupIp) + ", ownedBlocks=0x" + Integer.toHexString(ownedBlocks) + ", peers=");
        for (int i = 0; i < peers.length; i++) {
            s.append(i == 0 ? "" : ",").append(Ipv4Address.format(peers[i]));
        }
        return s.append(']').toString();
    }
}
