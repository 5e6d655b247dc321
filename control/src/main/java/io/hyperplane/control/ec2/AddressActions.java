package io.hyperplane.control.ec2;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Elastic IPs: AllocateAddress, ReleaseAddress, DescribeAddresses, AssociateAddress,
 * DisassociateAddress (domain vpc only). Addresses come from one public range for every account
 * ({@link IdPool#PUBLIC_IP}), shared with instances' auto-assigned public IPs. An association maps
 * the address to a private one in a VPC with an internet gateway: an instance's, or a network
 * interface's (a NAT gateway's is made by CreateNatGateway and is the service's to undo).
 */
final class AddressActions {
    static final String DOMAIN = "vpc";
    /** The public IPv4 pool and network border group EC2 reports for Amazon's own addresses in us-east-1. */
    static final String POOL = "amazon";
    static final String BORDER_GROUP = "us-east-1";
    private static final Set<String> FILTERS = Set.of("allocation-id", "association-id", "domain", "instance-id", "network-interface-id",
            "network-interface-owner-id", "private-ip-address", "public-ip", "public-ipv4-pool", "network-border-group");

    record Address(String allocationId, String accountId, String publicIp, String associationId, String instanceId,
                   String networkInterfaceId, String privateIp, Map<String, String> tags) {
    }

    private final Database db;
    private final Ec2Quotas quotas;

    AddressActions(Database db, Ec2Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
    }

    String allocate(String account, QueryParams p, String requestId) {
        String domain = p.get("Domain");
        if (domain != null && !domain.equals(DOMAIN)) {
            throw Ec2Error.invalidValue("Domain", domain, "Only Elastic IP addresses for use in a VPC (domain vpc) are supported.");
        }
        if (p.get("Address") != null || p.get("PublicIpv4Pool") != null && !p.get("PublicIpv4Pool").equals(POOL)) {
            throw Ec2Error.client("InvalidParameterValue", "Addresses come from Amazon's pool only: a specific address or pool (BYOIP) "
                    + "cannot be given.");
        }
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "elastic-ip");
        Address address = db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (Sql.count(c, "SELECT COUNT(*) FROM elastic_ips WHERE account_id = ?", account) >= quotas.elasticIps()) {
                throw Ec2Quotas.addressLimitExceeded();
            }
            String ip = takePublicIp(c);
            String id = Ids.next("eipalloc");
            Sql.update(c, "INSERT INTO elastic_ips (allocation_id, account_id, public_ip, created_at) VALUES (?, ?, ?, ?)", id, account, ip,
                    Timestamp.from(Instant.now()));
            VpcStore.putTags(c, account, id, tags);
            return new Address(id, account, ip, null, null, null, null, tags);
        });
        return new Xml().openRoot("AllocateAddressResponse").element("requestId", requestId).element("publicIp", address.publicIp())
                .element("domain", DOMAIN).element("allocationId", address.allocationId()).element("publicIpv4Pool", POOL)
                .element("networkBorderGroup", BORDER_GROUP).close("AllocateAddressResponse").toString();
    }

    /**
     * A public address from the range every account shares, under the pool's row lock (held to
     * commit), so two accounts never take the same one. The range full is EC2's
     * InsufficientAddressCapacity, not the account's quota.
     */
    static String takePublicIp(Connection c) throws SQLException {
        try {
            return IdPool.PUBLIC_IP.format(IdPool.PUBLIC_IP.take(c));
        } catch (IdPool.Exhausted e) {
            throw Ec2Error.client("InsufficientAddressCapacity", "There are not enough free addresses in the public address pool.");
        }
    }

    String release(String account, QueryParams p, String requestId) {
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            Address a = find(c, account, p.get("AllocationId"), p.get("PublicIp"));
            if (a.associationId() != null) {
                throw Ec2Error.client("InvalidIPAddress.InUse", "The address with allocation id [" + a.allocationId() + "] is in use");
            }
            Sql.update(c, "DELETE FROM tags WHERE resource_id = ?", a.allocationId());
            Sql.update(c, "DELETE FROM elastic_ips WHERE allocation_id = ?", a.allocationId());
            IdPool.PUBLIC_IP.releaseStored(c, a.publicIp());
            return null;
        });
        return Ec2Api.returnTrue("ReleaseAddressResponse", requestId);
    }

    String describe(String account, QueryParams p, String requestId) {
        List<String> allocationIds = p.list("AllocationId");
        List<String> publicIps = p.list("PublicIp");
        Filters filters = Filters.parse(p, FILTERS);
        List<Address> all = db.inTransaction(c -> addresses(c, account));
        for (String id : allocationIds) {
            if (all.stream().noneMatch(a -> a.allocationId().equals(id))) {
                throw allocationNotFound(id);
            }
        }
        for (String ip : publicIps) {
            if (all.stream().noneMatch(a -> a.publicIp().equals(ip))) {
                throw addressNotFound(ip);
            }
        }
        Xml x = new Xml().openRoot("DescribeAddressesResponse").element("requestId", requestId).open("addressesSet");
        for (Address a : all) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "allocation-id" -> List.of(a.allocationId());
                case "association-id" -> optional(a.associationId());
                case "domain" -> List.of(DOMAIN);
                case "instance-id" -> optional(a.instanceId());
                case "network-interface-id" -> optional(a.networkInterfaceId());
                case "network-interface-owner-id" -> a.networkInterfaceId() == null ? List.of() : List.of(a.accountId());
                case "private-ip-address" -> optional(a.privateIp());
                case "public-ip" -> List.of(a.publicIp());
                case "public-ipv4-pool" -> List.of(POOL);
                case "network-border-group" -> List.of(BORDER_GROUP);
                default -> List.of();
            };
            if ((allocationIds.isEmpty() || allocationIds.contains(a.allocationId())) && (publicIps.isEmpty() || publicIps.contains(a.publicIp()))
                    && filters.matches(attributes, a.tags())) {
                x.open("item").element("publicIp", a.publicIp()).element("allocationId", a.allocationId()).element("domain", DOMAIN)
                        .element("instanceId", a.instanceId()).element("associationId", a.associationId())
                        .element("networkInterfaceId", a.networkInterfaceId())
                        .element("networkInterfaceOwnerId", a.networkInterfaceId() == null ? null : a.accountId())
                        .element("privateIpAddress", a.privateIp());
                Ec2Api.tagSet(x, a.tags());
                x.element("publicIpv4Pool", POOL).element("networkBorderGroup", BORDER_GROUP).close("item");
            }
        }
        return x.close("addressesSet").close("DescribeAddressesResponse").toString();
    }

    private static List<String> optional(String value) {
        return value == null ? List.of() : List.of(value);
    }

    /** Where an association points: the instance (or null), the network interface (or null), the private address, the VPC. */
    private record Target(String instanceId, String networkInterfaceId, String privateIp, String vpcId) {
    }

    String associate(String account, QueryParams p, String requestId) {
        String instanceId = p.get("InstanceId");
        String eniId = p.get("NetworkInterfaceId");
        if ((instanceId == null) == (eniId == null)) {
            throw Ec2Error.client("InvalidParameterCombination", "Exactly one of InstanceId and NetworkInterfaceId must be specified.");
        }
        boolean reassociate = Boolean.parseBoolean(p.get("AllowReassociation"));
        String associationId = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Address a = find(c, account, p.get("AllocationId"), p.get("PublicIp"));
            Target target = instanceId != null ? instanceTarget(c, account, instanceId) : interfaceTarget(c, account, eniId);
            if (p.get("PrivateIpAddress") != null && !p.get("PrivateIpAddress").equals(target.privateIp())) {
                throw Ec2Error.client("InvalidParameterValue", "The private IP address " + p.get("PrivateIpAddress")
                        + " is not assigned to the specified network interface.");
            }
            if (InternetGatewayActions.attachedTo(c, target.vpcId()).isEmpty()) {
                throw Ec2Error.client("Gateway.NotAttached", "Network " + target.vpcId() + " is not attached to any internet gateway");
            }
            if (a.associationId() != null) {
                if (a.networkInterfaceId() != null && isNatGatewayInterface(c, a.networkInterfaceId())) {
                    throw Ec2Error.client("Resource.AlreadyAssociated", "Elastic IP address [" + a.allocationId() + "] is already associated");
                }
                if (!reassociate) {
                    throw Ec2Error.client("Resource.AlreadyAssociated", "resource " + a.allocationId() + " is already associated with associate-id "
                            + a.associationId());
                }
            }
            // The target's own public address gives way: an Elastic IP it had is disassociated, an
            // auto-assigned public IP released (EC2 user guide, "Elastic IP addresses").
            Sql.update(c, "UPDATE elastic_ips SET association_id = NULL, instance_id = NULL, network_interface_id = NULL, private_ip = NULL"
                    + " WHERE private_ip = ? AND (instance_id = ? OR network_interface_id = ?)", target.privateIp(), target.instanceId(),
                    target.networkInterfaceId());
            if (target.instanceId() != null) {
                String publicIp = Sql.strings(c, "SELECT public_ip FROM instances WHERE id = ?", target.instanceId()).getFirst();
                if (publicIp != null) {
                    Sql.update(c, "UPDATE instances SET public_ip = NULL WHERE id = ?", target.instanceId());
                    IdPool.PUBLIC_IP.releaseStored(c, publicIp);
                }
            }
            String association = Ids.next("eipassoc");
            Sql.update(c, "UPDATE elastic_ips SET association_id = ?, instance_id = ?, network_interface_id = ?, private_ip = ? WHERE allocation_id = ?",
                    association, target.instanceId(), target.networkInterfaceId(), target.privateIp(), a.allocationId());
            return association;
        });
        return new Xml().openRoot("AssociateAddressResponse").element("requestId", requestId).element("return", "true")
                .element("associationId", associationId).close("AssociateAddressResponse").toString();
    }

    private static Target instanceTarget(Connection c, String account, String instanceId) throws SQLException {
        try (PreparedStatement s = Sql.prepare(c, "SELECT private_ip, vpc_id, state FROM instances WHERE id = ? AND account_id = ?", instanceId, account);
             ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                throw Ec2Error.client("InvalidInstanceID.NotFound", "The instance ID '" + instanceId + "' does not exist");
            }
            if (!r.getString(3).equals(InstanceActions.PENDING) && !r.getString(3).equals(InstanceActions.RUNNING)) {
                throw Ec2Error.client("IncorrectInstanceState", "The instance '" + instanceId + "' is not in a valid state for this operation.");
            }
            return new Target(instanceId, null, r.getString(1), r.getString(2));
        }
    }

    /** A network interface: an instance's primary one, or a Lambda ENI. */
    private static Target interfaceTarget(Connection c, String account, String eniId) throws SQLException {
        for (String instance : Sql.strings(c, "SELECT id FROM instances WHERE account_id = ? AND state IN (?, ?)", account,
                InstanceActions.PENDING, InstanceActions.RUNNING)) {
            if (InstanceActions.primaryInterface(instance).equals(eniId)) {
                Target t = instanceTarget(c, account, instance);
                return new Target(instance, eniId, t.privateIp(), t.vpcId());
            }
        }
        try (PreparedStatement s = Sql.prepare(c, "SELECT private_ip, vpc_id FROM network_interfaces WHERE id = ? AND account_id = ?", eniId, account);
             ResultSet r = s.executeQuery()) {
            if (!r.next()) {
                throw Ec2Error.client("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '" + eniId + "' does not exist");
            }
            return new Target(null, eniId, r.getString(1), r.getString(2));
        }
    }

    private static boolean isNatGatewayInterface(Connection c, String eniId) throws SQLException {
        return Sql.count(c, "SELECT COUNT(*) FROM nat_gateways WHERE eni_id = ?", eniId) > 0;
    }

    String disassociate(String account, QueryParams p, String requestId) {
        String associationId = p.get("AssociationId");
        String publicIp = p.get("PublicIp");
        if (associationId == null && publicIp == null) {
            throw Ec2Error.missing("AssociationId");
        }
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            Address a = addresses(c, account).stream()
                    .filter(x -> associationId != null ? associationId.equals(x.associationId()) : publicIp.equals(x.publicIp()))
                    .findFirst().orElseThrow(() -> associationId != null
                            ? Ec2Error.client("InvalidAssociationID.NotFound", "The association ID '" + associationId + "' does not exist")
                            : addressNotFound(publicIp));
            if (a.associationId() == null) {
                return null;
            }
            // A NAT gateway's address is the service's: only DeleteNatGateway lets go of it.
            if (a.networkInterfaceId() != null && isNatGatewayInterface(c, a.networkInterfaceId())) {
                throw Ec2Error.client("AuthFailure", "You do not have permission to access the specified resource.");
            }
            Sql.update(c, "UPDATE elastic_ips SET association_id = NULL, instance_id = NULL, network_interface_id = NULL, private_ip = NULL"
                    + " WHERE allocation_id = ?", a.allocationId());
            return null;
        });
        return Ec2Api.returnTrue("DisassociateAddressResponse", requestId);
    }

    /** The account's address by allocation id (or, without one, by public IP). */
    static Address find(Connection c, String account, String allocationId, String publicIp) throws SQLException {
        if (allocationId == null && publicIp == null) {
            throw Ec2Error.missing("AllocationId");
        }
        for (Address a : addresses(c, account)) {
            if (allocationId != null ? a.allocationId().equals(allocationId) : a.publicIp().equals(publicIp)) {
                return a;
            }
        }
        throw allocationId != null ? allocationNotFound(allocationId) : addressNotFound(publicIp);
    }

    static Ec2Error allocationNotFound(String id) {
        return Ec2Error.client("InvalidAllocationID.NotFound", "The allocation ID '" + id + "' does not exist");
    }

    private static Ec2Error addressNotFound(String ip) {
        return Ec2Error.client("InvalidAddress.NotFound", "Address '" + ip + "' not found.");
    }

    static List<Address> addresses(Connection c, String account) throws SQLException {
        Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
        List<Address> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT allocation_id, public_ip, association_id, instance_id, network_interface_id, private_ip"
                + " FROM elastic_ips WHERE account_id = ? ORDER BY created_at, allocation_id", account); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(new Address(r.getString(1), account, r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6),
                        tags.getOrDefault(r.getString(1), Map.of())));
            }
        }
        return out;
    }
}
