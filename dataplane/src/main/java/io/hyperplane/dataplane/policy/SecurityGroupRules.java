package io.hyperplane.dataplane.policy;

import io.hyperplane.config.NodeSnapshot.SecurityGroup;
import io.hyperplane.config.NodeSnapshot.SecurityGroupRule;
import io.hyperplane.config.Protocols;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The egress rules of one ENI's security-group set, flattened. Security groups only allow: a
 * flow is permitted when any rule of any group matches (EC2 user guide, "Security group rules").
 * Evaluated once per new flow; the flow table makes them stateful, so replies need no rule and
 * rule changes never cut tracked connections.
 * <p>
 * For ICMP rules EC2 puts the ICMP type in fromPort and the code in toPort, -1 meaning all.
 * A rule naming another group matches destinations that are members of that group.
 */
public final class SecurityGroupRules {
    private final int[] protocol;
    private final int[] fromPort;
    private final int[] toPort;
    private final int[] network;
    private final int[] mask;
    private final int[][] members;

    private SecurityGroupRules(List<SecurityGroupRule> rules, Map<String, SecurityGroup> groups) {
        int n = rules.size();
        protocol = new int[n];
        fromPort = new int[n];
        toPort = new int[n];
        network = new int[n];
        mask = new int[n];
        members = new int[n][];
        for (int i = 0; i < n; i++) {
            SecurityGroupRule rule = rules.get(i);
            protocol[i] = Protocols.parse(rule.protocol());
            fromPort[i] = rule.fromPort();
            toPort[i] = rule.toPort();
            if (rule.cidr() != null) {
                Ipv4Cidr cidr = Ipv4Cidr.parse(rule.cidr());
                network[i] = cidr.network();
                mask[i] = cidr.mask();
            } else {
                members[i] = groups.get(rule.groupId()).members().stream().mapToInt(Ipv4Address::parse).sorted().toArray();
            }
        }
    }

    public static SecurityGroupRules egress(List<String> groupIds, Map<String, SecurityGroup> groups) {
        List<SecurityGroupRule> rules = new ArrayList<>();
        for (String id : groupIds) {
            rules.addAll(groups.get(id).egress());
        }
        return new SecurityGroupRules(rules, groups);
    }

    /** For TCP/UDP {@code portOrType} is the destination port; for ICMP the type, with {@code icmpCode}. */
    public boolean allows(int proto, int destination, int portOrType, int icmpCode) {
        for (int i = 0; i < protocol.length; i++) {
            int p = protocol[i];
            if (p != Protocols.ALL && p != proto) {
                continue;
            }
            if (p == 6 || p == 17) {
                if (portOrType < fromPort[i] || portOrType > toPort[i]) {
                    continue;
                }
            } else if (p == 1) {
                if ((fromPort[i] != -1 && fromPort[i] != portOrType) || (toPort[i] != -1 && toPort[i] != icmpCode)) {
                    continue;
                }
            }
            if (members[i] != null ? Arrays.binarySearch(members[i], destination) >= 0
                    : (destination & mask[i]) == network[i]) {
                return true;
            }
        }
        return false;
    }
}
