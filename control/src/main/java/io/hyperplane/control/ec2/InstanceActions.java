package io.hyperplane.control.ec2;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.eni.SubnetAddresses;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.IdPool;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * RunInstances, DescribeInstances, TerminateInstances. An instance is a host in a subnet with one
 * private address; its UserData is a shell script the fabric runs as root when it boots. States
 * follow EC2: pending (0) until the fabric has built it, running (16), shutting-down (32) until the
 * fabric has removed it, terminated (48), when its address returns to the subnet.
 */
public final class InstanceActions {
    public static final String PENDING = "pending";
    public static final String RUNNING = "running";
    public static final String SHUTTING_DOWN = "shutting-down";
    public static final String TERMINATED = "terminated";
    private static final Map<String, Integer> STATE_CODES = Map.of(PENDING, 0, RUNNING, 16, SHUTTING_DOWN, 32, TERMINATED, 48);
    private static final int MAX_USER_DATA_BYTES = 16 * 1024; // EC2's limit, before base64
    /** Any image and type name is taken (the fabric runs every instance the same way), up to what the store holds. */
    private static final int MAX_IMAGE_ID = 64;
    private static final int MAX_INSTANCE_TYPE = 32;

    /**
     * {@code publicIp}: the address the internet gateway maps to {@code privateIp}, an Elastic IP
     * associated with it ({@code elasticIp}) or else its auto-assigned one, or null.
     */
    record Instance(String id, String accountId, String reservationId, String vpcId, String subnetId, String privateIp,
                    String imageId, String instanceType, String state, Instant launchedAt, String availabilityZone,
                    List<String[]> groups, Map<String, String> tags, String publicIp, boolean elasticIp, boolean dnsHostnames) {
    }

    /**
     * The id DescribeInstances gives an instance's primary network interface: "eni-" and the
     * instance id's digits. Instances have no interface of their own in the store; AssociateAddress
     * takes this id for the instance.
     */
    static String primaryInterface(String instanceId) {
        return "eni-" + instanceId.substring(instanceId.indexOf('-') + 1);
    }

    private final Database db;
    private final Ec2Quotas quotas;

    InstanceActions(Database db, Ec2Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
    }

    String run(String account, QueryParams p, String requestId) {
        String imageId = p.required("ImageId");
        List<QueryParams> interfaces = p.structures("NetworkInterface");
        if (interfaces.size() > 1) {
            throw Ec2Error.client("InvalidParameterValue", "Only one network interface (device index 0) is supported per instance.");
        }
        QueryParams primary = interfaces.isEmpty() ? null : interfaces.getFirst();
        if (primary != null && (p.get("SubnetId") != null || !p.list("SecurityGroupId").isEmpty())) {
            throw Ec2Error.client("InvalidParameterCombination",
                    "Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request");
        }
        String subnetId = primary != null ? primary.get("SubnetId") : p.get("SubnetId");
        // NetworkInterface.1.AssociatePublicIpAddress overrides the subnet's MapPublicIpOnLaunch.
        Boolean associatePublicIp = primary == null || primary.get("AssociatePublicIpAddress") == null ? null
                : Boolean.parseBoolean(primary.get("AssociatePublicIpAddress"));
        if (subnetId == null) {
            throw Ec2Error.client("VPCIdNotSpecified", "No default VPC for this user. Specify a subnet with SubnetId.");
        }
        int min = count(p.get("MinCount"), "MinCount");
        int max = count(p.get("MaxCount"), "MaxCount");
        if (min > max) {
            throw Ec2Error.client("InvalidParameterValue", "MinCount (" + min + ") must not exceed MaxCount (" + max + ")");
        }
        String userData = userData(p.get("UserData"));
        if (imageId.length() > MAX_IMAGE_ID) {
            throw Ec2Error.client("InvalidAMIID.Malformed", "Invalid id: \"" + imageId + "\"");
        }
        String type = p.get("InstanceType") == null ? "t3.micro" : p.get("InstanceType");
        if (type.length() > MAX_INSTANCE_TYPE) {
            throw Ec2Error.invalidValue("InstanceType", type, "It is not a valid instance type.");
        }
        String requestedIp = primary != null ? primary.get("PrivateIpAddress") : p.get("PrivateIpAddress");
        if (requestedIp != null && max > 1) {
            throw Ec2Error.client("InvalidParameterCombination", "A private address can be given for one instance only");
        }
        List<String> groupIds = primary != null ? primary.list("SecurityGroupId") : p.list("SecurityGroupId");
        Map<String, String> tags = Ec2Api.tagSpecifications(p, "instance");
        List<String> launched = db.inTransaction(c -> {
            Accounts.lock(c, account);
            List<String> subnet = Sql.strings(c, "SELECT vpc_id FROM subnets WHERE id = ? AND account_id = ?", subnetId, account);
            if (subnet.isEmpty()) {
                throw Ec2Error.client("InvalidSubnetID.NotFound", "The subnet ID '" + subnetId + "' does not exist");
            }
            String vpcId = subnet.getFirst();
            Ipv4Cidr cidr = Ipv4Cidr.parse(Sql.strings(c, "SELECT cidr FROM subnets WHERE id = ?", subnetId).getFirst());
            List<String> groups = new ArrayList<>(groupIds);
            if (groups.isEmpty()) {
                groups.addAll(Sql.strings(c, "SELECT id FROM security_groups WHERE vpc_id = ? AND is_default", vpcId));
            }
            for (String g : groups) {
                if (Sql.count(c, "SELECT COUNT(*) FROM security_groups WHERE id = ? AND account_id = ? AND vpc_id = ?", g, account, vpcId) == 0) {
                    throw Ec2Error.client("InvalidGroup.NotFound", "The security group '" + g + "' does not exist in VPC '" + vpcId + "'");
                }
            }
            // Up to MaxCount as the quota allows, refused only below MinCount (RunInstances launches what it can).
            long allowed = quotas.runningInstances() - Sql.count(c, "SELECT COUNT(*) FROM instances WHERE account_id = ? AND state IN (?, ?)",
                    account, PENDING, RUNNING);
            if (allowed < min) {
                throw Ec2Quotas.instanceLimitExceeded(Math.max(0, allowed), min);
            }
            List<String> addresses = addresses(c, subnetId, cidr, requestedIp, min, (int) Math.min(max, allowed));
            boolean publicIp = associatePublicIp != null ? associatePublicIp
                    : Sql.count(c, "SELECT COUNT(*) FROM subnets WHERE id = ? AND map_public_ip_on_launch", subnetId) > 0;
            String reservation = Ids.next("r");
            Timestamp now = Timestamp.from(Instant.now().truncatedTo(ChronoUnit.MILLIS));
            List<String> ids = new ArrayList<>();
            for (String ip : addresses) {
                String id = Ids.next("i");
                Sql.update(c, "INSERT INTO instances (id, account_id, reservation_id, vpc_id, subnet_id, private_ip, image_id, instance_type,"
                        + " user_data, state, launched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        id, account, reservation, vpcId, subnetId, ip, imageId, type, userData, PENDING, now);
                if (publicIp) { // assigned whether or not the VPC has an internet gateway, as on EC2
                    Sql.update(c, "UPDATE instances SET public_ip = ? WHERE id = ?", AddressActions.takePublicIp(c), id);
                }
                for (String g : new HashSet<>(groups)) {
                    Sql.update(c, "INSERT INTO instance_security_groups (instance_id, group_id) VALUES (?, ?)", id, g);
                }
                VpcStore.putTags(c, account, id, tags);
                ids.add(id);
            }
            return ids;
        });
        List<Instance> instances = instances(account).stream().filter(i -> launched.contains(i.id())).toList();
        Xml x = new Xml().openRoot("RunInstancesResponse").element("requestId", requestId)
                .element("reservationId", instances.getFirst().reservationId()).element("ownerId", account).empty("groupSet").open("instancesSet");
        for (Instance i : instances) {
            render(x, i);
        }
        return x.close("instancesSet").close("RunInstancesResponse").toString();
    }

    /** Addresses for up to {@code max} instances, at least {@code min}, from the subnet's free ones. */
    private static List<String> addresses(Connection c, String subnetId, Ipv4Cidr cidr, String requested, int min, int max) throws SQLException {
        Set<String> used = SubnetAddresses.used(c, subnetId);
        int first = SubnetAddresses.first(cidr);
        int last = SubnetAddresses.last(cidr);
        if (requested != null) {
            int ip;
            try {
                ip = Ipv4Address.parse(requested);
            } catch (IllegalArgumentException e) {
                throw Ec2Error.invalidValue("PrivateIpAddress", requested, "It is not an IPv4 address.");
            }
            if (ip < first || ip > last) {
                throw Ec2Error.client("InvalidParameterValue", "Address " + requested + " does not fall within the subnet's address range");
            }
            if (used.contains(requested)) {
                throw Ec2Error.client("InvalidIPAddress.InUse", "Address " + requested + " is in use.");
            }
            return List.of(requested);
        }
        List<String> out = SubnetAddresses.free(cidr, used, max);
        if (out.size() < min) {
            throw Ec2Error.client("InsufficientFreeAddressesInSubnet", "The specified subnet does not have enough free addresses to satisfy the request.");
        }
        return out;
    }

    private static final Set<String> FILTERS = Set.of("instance-id", "instance-state-name", "instance-state-code", "subnet-id",
            "vpc-id", "private-ip-address", "image-id", "instance-type", "reservation-id", "owner-id", "instance.group-id",
            "availability-zone", "ip-address", "network-interface.addresses.association.public-ip", "network-interface.network-interface-id");

    String describe(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("InstanceId");
        Filters filters = Filters.parse(p, FILTERS);
        List<Instance> all = instances(account);
        for (String id : ids) {
            if (all.stream().noneMatch(i -> i.id().equals(id))) {
                throw Ec2Error.client("InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
            }
        }
        Map<String, List<Instance>> byReservation = new LinkedHashMap<>();
        for (Instance i : all) {
            Function<String, List<String>> attributes = name -> switch (name) {
                case "instance-id" -> List.of(i.id());
                case "instance-state-name" -> List.of(i.state());
                case "instance-state-code" -> List.of(String.valueOf(STATE_CODES.get(i.state())));
                case "subnet-id" -> List.of(i.subnetId());
                case "vpc-id" -> List.of(i.vpcId());
                case "private-ip-address" -> i.privateIp() == null ? List.of() : List.of(i.privateIp());
                case "image-id" -> List.of(i.imageId());
                case "instance-type" -> List.of(i.instanceType());
                case "reservation-id" -> List.of(i.reservationId());
                case "owner-id" -> List.of(i.accountId());
                case "instance.group-id" -> i.groups().stream().map(g -> g[0]).toList();
                case "availability-zone" -> List.of(i.availabilityZone());
                case "ip-address", "network-interface.addresses.association.public-ip" -> i.publicIp() == null ? List.of() : List.of(i.publicIp());
                case "network-interface.network-interface-id" -> i.privateIp() == null ? List.of() : List.of(primaryInterface(i.id()));
                default -> List.of();
            };
            if ((ids.isEmpty() || ids.contains(i.id())) && filters.matches(attributes, i.tags())) {
                byReservation.computeIfAbsent(i.reservationId(), r -> new ArrayList<>()).add(i);
            }
        }
        Xml x = new Xml().openRoot("DescribeInstancesResponse").element("requestId", requestId).open("reservationSet");
        byReservation.forEach((reservation, instances) -> {
            x.open("item").element("reservationId", reservation).element("ownerId", account).empty("groupSet").open("instancesSet");
            instances.forEach(i -> render(x, i));
            x.close("instancesSet").close("item");
        });
        return x.close("reservationSet").close("DescribeInstancesResponse").toString();
    }

    String terminate(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("InstanceId");
        if (ids.isEmpty()) {
            throw Ec2Error.missing("InstanceId.N");
        }
        Map<String, String> previous = db.inTransaction(c -> {
            Accounts.lock(c, account);
            Map<String, String> states = new LinkedHashMap<>();
            for (String id : ids) {
                List<String> state = Sql.strings(c, "SELECT state FROM instances WHERE id = ? AND account_id = ?", id, account);
                if (state.isEmpty()) {
                    throw Ec2Error.client("InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
                }
                states.put(id, state.getFirst());
            }
            for (String id : ids) {
                if (!states.get(id).equals(TERMINATED)) {
                    Sql.update(c, "UPDATE instances SET state = ? WHERE id = ?", SHUTTING_DOWN, id);
                    // Its public addresses go at once (EC2 user guide: a public IP is released, an Elastic IP
                    // disassociated, when the instance terminates): the gateway stops mapping them now.
                    String publicIp = Sql.strings(c, "SELECT public_ip FROM instances WHERE id = ?", id).getFirst();
                    Sql.update(c, "UPDATE instances SET public_ip = NULL WHERE id = ?", id);
                    IdPool.PUBLIC_IP.releaseStored(c, publicIp);
                    Sql.update(c, "UPDATE elastic_ips SET association_id = NULL, instance_id = NULL, network_interface_id = NULL, private_ip = NULL"
                            + " WHERE instance_id = ?", id);
                }
            }
            return states;
        });
        Xml x = new Xml().openRoot("TerminateInstancesResponse").element("requestId", requestId).open("instancesSet");
        previous.forEach((id, before) -> {
            String now = before.equals(TERMINATED) ? TERMINATED : SHUTTING_DOWN;
            x.open("item").element("instanceId", id).open("currentState").element("code", STATE_CODES.get(now)).element("name", now)
                    .close("currentState").open("previousState").element("code", STATE_CODES.get(before)).element("name", before)
                    .close("previousState").close("item");
        });
        return x.close("instancesSet").close("TerminateInstancesResponse").toString();
    }

    private static void render(Xml x, Instance i) {
        String dns = i.privateIp() == null ? "" : "ip-" + i.privateIp().replace('.', '-') + ".ec2.internal";
        // A public DNS name only with EnableDnsHostnames (VPC user guide, "DNS attributes for your VPC").
        String publicDns = i.publicIp() == null || !i.dnsHostnames() ? "" : "ec2-" + i.publicIp().replace('.', '-') + ".compute-1.amazonaws.com";
        x.open("item").element("instanceId", i.id()).element("imageId", i.imageId())
                .open("instanceState").element("code", STATE_CODES.get(i.state())).element("name", i.state()).close("instanceState")
                .element("privateDnsName", dns).element("dnsName", publicDns).element("amiLaunchIndex", 0).empty("productCodes")
                .element("instanceType", i.instanceType()).element("launchTime", i.launchedAt().toString())
                .open("placement").element("availabilityZone", i.availabilityZone()).element("tenancy", "default").close("placement")
                .open("monitoring").element("state", "disabled").close("monitoring")
                .element("subnetId", i.subnetId()).element("vpcId", i.vpcId()).element("privateIpAddress", i.privateIp())
                .element("ipAddress", i.publicIp())
                .open("groupSet");
        groups(x, i);
        x.close("groupSet").element("architecture", "x86_64").element("rootDeviceType", "ebs");
        if (i.privateIp() == null) {
            x.empty("networkInterfaceSet");
        } else {
            x.open("networkInterfaceSet").open("item").element("networkInterfaceId", primaryInterface(i.id())).element("subnetId", i.subnetId())
                    .element("vpcId", i.vpcId()).element("ownerId", i.accountId()).element("status", "in-use")
                    .element("privateIpAddress", i.privateIp()).element("privateDnsName", dns).element("sourceDestCheck", true).open("groupSet");
            groups(x, i);
            x.close("groupSet").open("attachment").element("attachmentId", "eni-attach-" + i.id().substring(2)).element("deviceIndex", 0)
                    .element("status", "attached").element("deleteOnTermination", true).close("attachment");
            association(x, i, publicDns);
            x.open("privateIpAddressesSet").open("item").element("privateIpAddress", i.privateIp()).element("privateDnsName", dns)
                    .element("primary", true);
            association(x, i, publicDns);
            x.close("item").close("privateIpAddressesSet").element("interfaceType", "interface").close("item").close("networkInterfaceSet");
        }
        Ec2Api.tagSet(x, i.tags());
        x.close("item");
    }

    private static void groups(Xml x, Instance i) {
        for (String[] g : i.groups()) {
            x.open("item").element("groupId", g[0]).element("groupName", g[1]).close("item");
        }
    }

    /** Who owns the public address: "amazon" for an auto-assigned one, the account for its Elastic IP. */
    private static void association(Xml x, Instance i, String publicDns) {
        if (i.publicIp() != null) {
            x.open("association").element("publicIp", i.publicIp()).element("publicDnsName", publicDns)
                    .element("ipOwnerId", i.elasticIp() ? i.accountId() : "amazon").close("association");
        }
    }

    List<Instance> instances(String account) {
        return db.inTransaction(c -> {
            Map<String, Map<String, String>> tags = VpcStore.tags(c, account);
            Map<String, List<String[]>> groups = new LinkedHashMap<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT m.instance_id, g.id, g.name FROM instance_security_groups m"
                    + " JOIN security_groups g ON g.id = m.group_id WHERE g.account_id = ? ORDER BY g.name", account); ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    groups.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(new String[] {r.getString(2), r.getString(3)});
                }
            }
            List<Instance> out = new ArrayList<>();
            try (PreparedStatement s = Sql.prepare(c, "SELECT i.id, i.reservation_id, i.vpc_id, i.subnet_id, i.private_ip, i.image_id,"
                    + " i.instance_type, i.state, i.launched_at, s.availability_zone, i.public_ip, e.public_ip, v.enable_dns_hostnames"
                    + " FROM instances i LEFT JOIN subnets s ON s.id = i.subnet_id LEFT JOIN elastic_ips e ON e.instance_id = i.id"
                    + " LEFT JOIN vpcs v ON v.id = i.vpc_id WHERE i.account_id = ? ORDER BY i.launched_at, i.id", account);
                 ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String id = r.getString(1);
                    String elasticIp = r.getString(12);
                    out.add(new Instance(id, account, r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6),
                            r.getString(7), r.getString(8), r.getTimestamp(9).toInstant(),
                            r.getString(10) == null ? "us-east-1a" : r.getString(10), groups.getOrDefault(id, List.of()),
                            tags.getOrDefault(id, Map.of()), elasticIp != null ? elasticIp : r.getString(11), elasticIp != null,
                            r.getBoolean(13)));
                }
            }
            return out;
        });
    }

    private static int count(String text, String name) {
        if (text == null) {
            return 1;
        }
        try {
            int n = Integer.parseInt(text);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw Ec2Error.invalidValue(name, text, "It must be a positive number.");
    }

    private static String userData(String base64) {
        if (base64 == null || base64.isEmpty()) {
            return null;
        }
        byte[] bytes;
        try {
            bytes = Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw Ec2Error.client("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.");
        }
        if (bytes.length > MAX_USER_DATA_BYTES) {
            throw Ec2Error.client("InvalidParameterValue", "User data is limited to 16384 bytes");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
