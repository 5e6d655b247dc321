package io.hyperplane.control.eni;

import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A subnet's private addresses, shared by instances and Hyperplane ENIs: AWS reserves the network
 * address, the next three (router, DNS, future use) and the broadcast address. Callers hold the
 * account's row lock, so two allocations never pick the same address.
 */
public final class SubnetAddresses {
    private static final int FIRST_USABLE_OFFSET = 4;

    private SubnetAddresses() {
    }

    public static int first(Ipv4Cidr cidr) {
        return cidr.network() + FIRST_USABLE_OFFSET;
    }

    public static int last(Ipv4Cidr cidr) {
        return cidr.last() - 1;
    }

    /** Addresses taken in the subnet by live instances, by ENIs and by NAT gateways not yet deleted. */
    public static Set<String> used(Connection c, String subnetId) throws SQLException {
        Set<String> used = new HashSet<>(Sql.strings(c, "SELECT private_ip FROM instances WHERE subnet_id = ? AND private_ip IS NOT NULL", subnetId));
        used.addAll(Sql.strings(c, "SELECT private_ip FROM network_interfaces WHERE subnet_id = ?", subnetId));
        used.addAll(Sql.strings(c, "SELECT private_ip FROM nat_gateways WHERE subnet_id = ? AND mac IS NOT NULL", subnetId));
        return used;
    }

    /** Up to {@code max} free addresses, lowest first. */
    public static List<String> free(Ipv4Cidr cidr, Set<String> used, int max) {
        List<String> out = new ArrayList<>();
        for (int ip = first(cidr); ip <= last(cidr) && out.size() < max; ip++) {
            String text = Ipv4Address.format(ip);
            if (!used.contains(text)) {
                out.add(text);
            }
        }
        return out;
    }
}
