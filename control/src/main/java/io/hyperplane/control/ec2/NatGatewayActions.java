package io.hyperplane.control.ec2;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.eni.SubnetAddresses;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * CreateNatGateway, DeleteNatGateway, DescribeNatGateways. A NAT gateway is a Hyperplane service on
 * the forwarder nodes, like a Lambda ENI (DESIGN.md §11): a private address and a MAC in its subnet,
 * and for a public one an Elastic IP the VPC's internet gateway maps that address to. What EC2
 * refuses at once (a missing subnet, a bad parameter) is an error; what EC2 finds while creating it
 * (no internet gateway, an Elastic IP missing or in use, a full subnet) makes a gateway that failed,
 * with EC2's failure code and message (VPC user guide, "Troubleshoot NAT gateways").
 * {@link NatGatewayLifecycle} moves it on from pending and deleting.
 */
final class NatGatewayActions {
    static final String PUBLIC = "public";
    static final String PRIVATE = "private";
    /** How long EC2 keeps showing a deleted or failed NAT gateway. */
    static final Duration SHOWN_AFTER_GONE = Duration.ofHours(1);
    /** EC2's ClientToken: up to 64 ASCII characters. */
    private static final int MAX_CLIENT_TOKEN = 64;
    /** EC2's allocation ids: "eipalloc-" and 8 or 17 hex digits. */
    private static final Pattern ALLOCATION_ID = Pattern.compile("eipalloc-(?:[0-9a-f]{8}|[0-9a-f]{17})");
    /** What the store keeps of a failure message (nat_gateways.failure_message). */
    private static final int MAX_FAILURE_MESSAGE = 255;
    private static final Set<String> FILTERS = Set.of("nat-gateway-id", "state", "subnet-id", "vpc-id");

    record NatGateway(String id, String accountId, String vpcId, String subnetId, String connectivityType, NatGatewayState state,
                      String allocationId, String associationId, String publicIp, String privateIp, String eniId, String clientToken,
                      String failureCode, String failureMessage, Instant createdAt, Instant deletedAt, Map<String, String> tags) {
    }

    private final Database db;

    NatGatewayActions(Database db) {
        this.db = db;
    }

    /** Why a gateway failed while being made: EC2's failure code and message. */
    private record Failure(String code, String message) {
    }

    String create(String account, QueryParams p, String requestId) {
        String subnetId = p.required("SubnetId");
        String type = p.get("ConnectivityType") == null ? PUBLIC : p.get("ConnectivityType");
        if (!type.equals(PUBLIC) && !type.equals(PRIVATE)) {
            throw Ec2Error.invalidValue("ConnectivityType", type, "It must be public or private.");
        }
        String allocationId = p.get("AllocationId");
        if (type.equals(PUBLIC) && allocationId == null) {
            throw Ec2Error.missing("AllocationId");
        }
        if (type.equals(PRIVATE) && allocationId != null) {
            throw Ec2Error.client("InvalidParameterCombination", "A private NAT gateway cannot have an Elastic IP address (AllocationId).");
        }
        // A well-formed id that names nothing makes a failed gateway; one that cannot be an id is refused at once.
        if (allocationId != null && !ALLOCATION_ID.matcher(allocationId).matches()) {
            throw Ec2Error.client("InvalidAllocationID.Malformed", "Invalid id: \"" + allocationId + "\" (expecting \"eipalloc-...\")");
        }
        String token = p.get("ClientToken");
        if (token != null && (token.length() > MAX_CLIENT_TOKEN || !token.chars().allMatch(ch -> ch >= ' ' && ch < 0x7f))) {
            throw Ec2Error.invalidValue("ClientToken", token, "It has at most " + MAX_CLIENT_TOKEN + " ASCII characters.");
        }
        String requestedIp = p.get("PrivateIpAddress");
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "natgateway");
        String id = db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (token != null) {
                // Idempotency (EC2 API reference, "Ensuring idempotency"): the same token and request is the same gateway.
                Optional<NatGateway> earlier = gateways(c, account).stream().filter(g -> token.equals(g.clientToken())).findFirst();
                if (earlier.isPresent()) {
                    NatGateway g = earlier.get();
                    if (!g.subnetId().equals(subnetId) || !g.connectivityType().equals(type)
                            || !Objects.equals(g.allocationId(), allocationId)) {
                        throw Ec2Error.client("IdempotentParameterMismatch",
                                "The request uses the same client token as a previous, but non-identical request.");
                    }
                    return g.id();
                }
            }
            List<String> subnet = Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnetId, account);
            if (subnet.isEmpty()) {
                throw Ec2Error.client("InvalidSubnetID.NotFound", "The subnet ID '" + subnetId + "' does not exist");
            }
            String vpcId = subnet.getFirst();
            Ipv4Cidr cidr = Ipv4Cidr.parse(Sql.strings(c, "SELECT cidr FROM subnets WHERE id = ?", subnetId).getFirst());
            Integer requested = requestedIp == null ? null : address(requestedIp, cidr);
            String natId = Ids.next("nat");
            String eniId = Ids.next("eni");
            Timestamp now = Timestamp.from(Instant.now().truncatedTo(ChronoUnit.MILLIS));
            Failure failure = null;
            AddressActions.Address eip = null;
            // One rule per failure, in the order EC2 checks them.
            if (type.equals(PUBLIC)) {
                Optional<AddressActions.Address> found = AddressActions.addresses(c, account).stream()
                        .filter(a -> a.allocationId().equals(allocationId)).findFirst();
                if (found.isEmpty()) {
                    failure = new Failure("InvalidAllocationID.NotFound", "Elastic IP address " + allocationId
                            + " could not be associated with this NAT gateway");
                } else if (found.get().associationId() != null) {
                    failure = new Failure("Resource.AlreadyAssociated", "Elastic IP address [" + allocationId + "] is already associated");
                } else if (InternetGatewayActions.attachedTo(c, vpcId).isEmpty()) {
                    failure = new Failure("Gateway.NotAttached", "Network " + vpcId + " has no Internet gateway attached");
                } else {
                    eip = found.get();
                }
            }
            String privateIp = null;
            if (failure == null) {
                Set<String> used = SubnetAddresses.used(c, subnetId);
                if (requested != null) {
                    if (used.contains(requestedIp)) {
                        throw Ec2Error.client("InvalidIPAddress.InUse", "Address " + requestedIp + " is in use.");
                    }
                    privateIp = requestedIp;
                } else {
                    List<String> free = SubnetAddresses.free(cidr, used, 1);
                    if (free.isEmpty()) {
                        failure = new Failure("InsufficientFreeAddressesInSubnet", "Subnet has insufficient free addresses to create this NAT gateway");
                    } else {
                        privateIp = free.getFirst();
                    }
                }
            }
            String mac = null;
            if (failure == null) {
                try {
                    mac = IdPool.ENI_MAC.format(IdPool.ENI_MAC.take(c));
                } catch (IdPool.Exhausted e) {
                    failure = new Failure("InternalError", internalErrorMessage(eniId, "no MAC address is free: " + e.getMessage()));
                }
            }
            if (failure != null) {
                Sql.update(c, "INSERT INTO nat_gateways (id, account_id, vpc_id, subnet_id, connectivity_type, state, allocation_id, eni_id,"
                        + " client_token, failure_code, failure_message, created_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        natId, account, vpcId, subnetId, type, NatGatewayState.FAILED.stored(), allocationId, eniId, token, failure.code(),
                        failure.message(), now, now);
            } else {
                String association = eip == null ? null : Ids.next("eipassoc");
                Sql.update(c, "INSERT INTO nat_gateways (id, account_id, vpc_id, subnet_id, connectivity_type, state, allocation_id, association_id,"
                        + " public_ip, private_ip, mac, eni_id, client_token, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        natId, account, vpcId, subnetId, type, NatGatewayState.PENDING.stored(), allocationId, association,
                        eip == null ? null : eip.publicIp(), privateIp, mac, eniId, token, now);
                if (eip != null) {
                    Sql.update(c, "UPDATE elastic_ips SET association_id = ?, instance_id = NULL, network_interface_id = ?, private_ip = ?"
                            + " WHERE allocation_id = ?", association, eniId, privateIp, allocationId);
                }
            }
            VpcStore.putTags(c, account, natId, tags);
            return natId;
        });
        NatGateway g = db.inTransaction(c -> gateways(c, account)).stream().filter(n -> n.id().equals(id)).findFirst().orElseThrow();
        Xml x = new Xml().openRoot("CreateNatGatewayResponse").element("requestId", requestId).element("clientToken", g.clientToken())
                .open("natGateway");
        render(x, g);
        return x.close("natGateway").close("CreateNatGatewayResponse").toString();
    }

    /** A requested private address: an IPv4 address the subnet can give (not one of AWS's five reserved). */
    private static int address(String text, Ipv4Cidr cidr) {
        int ip;
        try {
            ip = Ipv4Address.parse(text);
        } catch (IllegalArgumentException e) {
            throw Ec2Error.invalidValue("PrivateIpAddress", text, "It is not an IPv4 address.");
        }
        if (ip < SubnetAddresses.first(cidr) || ip > SubnetAddresses.last(cidr)) {
            throw Ec2Error.client("InvalidParameterValue", "Address " + text + " does not fall within the subnet's address range");
        }
        return ip;
    }

    String delete(String account, QueryParams p, String requestId) {
        String id = p.required("NatGatewayId");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            NatGateway g = gateways(c, account).stream().filter(n -> n.id().equals(id)).findFirst().orElseThrow(() -> notFound(id));
            switch (g.state()) {
                case PENDING, AVAILABLE -> {
                    g.state().moveTo(NatGatewayState.DELETING, id);
                    Sql.update(c, "UPDATE nat_gateways SET state = ? WHERE id = ?", NatGatewayState.DELETING.stored(), id);
                    // Its Elastic IP is free again at once; its address and MAC once the nodes no longer carry it.
                    disassociate(c, g);
                }
                case FAILED -> {
                    g.state().moveTo(NatGatewayState.DELETED, id);
                    Sql.update(c, "UPDATE nat_gateways SET state = ?, deleted_at = ? WHERE id = ?", NatGatewayState.DELETED.stored(),
                            Timestamp.from(Instant.now()), id);
                }
                case DELETING, DELETED -> { } // EC2 answers a repeated delete as the first
            }
            return null;
        });
        return new Xml().openRoot("DeleteNatGatewayResponse").element("requestId", requestId).element("natGatewayId", id)
                .close("DeleteNatGatewayResponse").toString();
    }

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("NatGatewayId");
        Filters filters = Filters.parse(p, FILTERS);
        List<NatGateway> all = db.inTransaction(c -> gateways(c, account));
        for (String id : ids) {
            if (all.stream().noneMatch(g -> g.id().equals(id))) {
                throw notFound(id);
            }
        }
        Xml x = new Xml().openRoot("DescribeNatGatewaysResponse").element("requestId", requestId).open("natGatewaySet");
        for (NatGateway g : all) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "nat-gateway-id" -> List.of(g.id());
                case "state" -> List.of(g.state().stored());
                case "subnet-id" -> List.of(g.subnetId());
                case "vpc-id" -> List.of(g.vpcId());
                default -> List.of();
            };
            if ((ids.isEmpty() || ids.contains(g.id())) && filters.matches(attributes, g.tags())) {
                x.open("item");
                render(x, g);
                x.close("item");
            }
        }
        return x.close("natGatewaySet").close("DescribeNatGatewaysResponse").toString();
    }

    private static void render(Xml x, NatGateway g) {
        x.element("createTime", g.createdAt().toString());
        if (g.state() == NatGatewayState.DELETED) {
            x.element("deleteTime", g.deletedAt().toString());
        }
        x.element("failureCode", g.failureCode()).element("failureMessage", g.failureMessage());
        if (g.privateIp() == null && g.allocationId() == null) {
            x.empty("natGatewayAddressSet");
        } else {
            x.open("natGatewayAddressSet").open("item").element("allocationId", g.allocationId()).element("networkInterfaceId", g.eniId())
                    .element("privateIp", g.privateIp()).element("publicIp", g.publicIp()).element("associationId", g.associationId())
                    .element("isPrimary", true).element("status", addressStatus(g.state())).close("item").close("natGatewayAddressSet");
        }
        x.element("natGatewayId", g.id()).element("state", g.state().stored()).element("subnetId", g.subnetId()).element("vpcId", g.vpcId())
                .element("connectivityType", g.connectivityType());
        Ec2Api.tagSet(x, g.tags());
    }

    /** The address's status: being associated while pending, let go of while deleting (EC2's NatGatewayAddressStatus). */
    static String addressStatus(NatGatewayState state) {
        return switch (state) {
            case PENDING -> "associating";
            case AVAILABLE -> "succeeded";
            case DELETING, DELETED -> "disassociating";
            case FAILED -> "failed";
        };
    }

    /** EC2's failure message for InternalError (EC2 API reference, NatGateway.FailureMessage), and why here. */
    static String internalErrorMessage(String eniId, String why) {
        String message = "Network interface " + eniId + ", created and used internally by this NAT gateway is in an invalid state. Please try again. ("
                + why + ")";
        return message.length() <= MAX_FAILURE_MESSAGE ? message : message.substring(0, MAX_FAILURE_MESSAGE - 1) + ")";
    }

    private static Ec2Error notFound(String id) {
        return Ec2Error.client("NatGatewayNotFound", "NAT gateway " + id + " was not found");
    }

    /** Lets go of the gateway's Elastic IP (the gateway keeps showing which it had). */
    static void disassociate(Connection c, NatGateway g) throws SQLException {
        if (g.associationId() != null) {
            Sql.update(c, "UPDATE elastic_ips SET association_id = NULL, instance_id = NULL, network_interface_id = NULL, private_ip = NULL"
                    + " WHERE association_id = ?", g.associationId());
        }
    }

    /** Gives back the gateway's MAC; its private address is free again with it (SubnetAddresses counts holders of a MAC). */
    static void releaseAddresses(Connection c, String id) throws SQLException {
        List<String> mac = Sql.strings(c, "SELECT mac FROM nat_gateways WHERE id = ?", id);
        Sql.update(c, "UPDATE nat_gateways SET mac = NULL WHERE id = ?", id);
        if (!mac.isEmpty()) {
            IdPool.ENI_MAC.releaseStored(c, mac.getFirst());
        }
    }

    /** The account's NAT gateways, those gone for longer than {@link #SHOWN_AFTER_GONE} left out. */
    static List<NatGateway> gateways(Connection c, String account) throws SQLException {
        Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
        Instant shownSince = Instant.now().minus(SHOWN_AFTER_GONE);
        List<NatGateway> out = new ArrayList<>();
        try (PreparedStatement s = Sql.prepare(c, "SELECT id, vpc_id, subnet_id, connectivity_type, state, allocation_id, association_id, public_ip,"
                + " private_ip, eni_id, client_token, failure_code, failure_message, created_at, deleted_at FROM nat_gateways WHERE account_id = ?"
                + " ORDER BY created_at, id", account); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                Timestamp deleted = r.getTimestamp(15);
                if (deleted != null && deleted.toInstant().isBefore(shownSince)) {
                    continue;
                }
                out.add(new NatGateway(r.getString(1), account, r.getString(2), r.getString(3), r.getString(4),
                        NatGatewayState.ofStored(r.getString(5)), r.getString(6), r.getString(7), r.getString(8), r.getString(9), r.getString(10),
                        r.getString(11), r.getString(12), r.getString(13), r.getTimestamp(14).toInstant(),
                        deleted == null ? null : deleted.toInstant(), tags.getOrDefault(r.getString(1), Map.of())));
            }
        }
        return out;
    }
}
