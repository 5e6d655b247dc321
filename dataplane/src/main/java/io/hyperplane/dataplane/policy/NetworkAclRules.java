package io.hyperplane.dataplane.policy;

import io.hyperplane.config.NodeSnapshot.NetworkAcl;
import io.hyperplane.config.NodeSnapshot.NetworkAclEntry;
import io.hyperplane.config.Protocols;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.Comparator;
import java.util.List;

/**
 * A subnet's network ACL: stateless, evaluated on every packet in each direction, rules in
 * ascending number, the first match decides, and no match is a deny (EC2 user guide, "Network
 * ACL rules": the final "*" rule). Return traffic therefore needs its ephemeral ports allowed.
 * <p>
 * Egress rules match the destination address and port of packets leaving the subnet; ingress
 * rules match the source address and the destination port of packets entering it.
 */
public final class NetworkAclRules {
    private final Direction egress;
    private final Direction ingress;

    private NetworkAclRules(NetworkAcl acl) {
        egress = new Direction(acl.entries().stream().filter(NetworkAclEntry::egress).toList());
        ingress = new Direction(acl.entries().stream().filter(e -> !e.egress()).toList());
    }

    public static NetworkAclRules compile(NetworkAcl acl) {
        return new NetworkAclRules(acl);
    }

    public boolean allowsEgress(int proto, int remoteIp, int portOrType, int icmpCode) {
        return egress.allows(proto, remoteIp, portOrType, icmpCode);
    }

    public boolean allowsIngress(int proto, int remoteIp, int portOrType, int icmpCode) {
        return ingress.allows(proto, remoteIp, portOrType, icmpCode);
    }

    private static final class Direction {
        private final int[] protocol;
        private final int[] network;
        private final int[] mask;
        private final int[] fromPort;
        private final int[] toPort;
        private final int[] icmpType;
        private final int[] icmpCode;
        private final boolean[] allow;

        Direction(List<NetworkAclEntry> unsorted) {
            List<NetworkAclEntry> entries = unsorted.stream().sorted(Comparator.comparingInt(NetworkAclEntry::ruleNumber)).toList();
            int n = entries.size();
            protocol = new int[n];
            network = new int[n];
            mask = new int[n];
            fromPort = new int[n];
            toPort = new int[n];
            icmpType = new int[n];
            icmpCode = new int[n];
            allow = new boolean[n];
            for (int i = 0; i < n; i++) {
                NetworkAclEntry e = entries.get(i);
                Ipv4Cidr cidr = Ipv4Cidr.parse(e.cidr());
                protocol[i] = Protocols.parse(e.protocol());
                network[i] = cidr.network();
                mask[i] = cidr.mask();
                fromPort[i] = e.fromPort();
                toPort[i] = e.toPort();
                icmpType[i] = e.icmpType();
                icmpCode[i] = e.icmpCode();
                allow[i] = e.allows();
            }
        }

        boolean allows(int proto, int remoteIp, int portOrType, int code) {
            for (int i = 0; i < protocol.length; i++) {
                int p = protocol[i];
                if (p != Protocols.ALL && p != proto) {
                    continue;
                }
                if ((remoteIp & mask[i]) != network[i]) {
                    continue;
                }
                if (p == 6 || p == 17) {
                    if (portOrType < fromPort[i] || portOrType > toPort[i]) {
                        continue;
                    }
                } else if (p == 1) {
                    if ((icmpType[i] != -1 && icmpType[i] != portOrType) || (icmpCode[i] != -1 && icmpCode[i] != code)) {
                        continue;
                    }
                }
                return allow[i];
            }
            return false; // the implicit final deny
        }
    }
}
