package io.hyperplane.control.ec2;

import io.hyperplane.control.store.Database;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The EC2 Query API subset (API version 2016-11-15), as the AWS CLI and SDKs call it: one
 * form-encoded request with an Action, answered with the action's XML response, or EC2's error
 * envelope. Authentication happens before this; {@code accountId} is the caller's account.
 */
public final class Ec2Api {
    public static final String VERSION = "2016-11-15";
    /** The region this server serves (one region, as EC2 endpoints are per region). */
    public static final String REGION = "us-east-1";

    private final VpcStore store;
    private final SecurityGroupActions securityGroups;
    private final NetworkAclActions networkAcls;
    private final RouteTableActions routeTables;
    private final InstanceActions instances;
    private final NetworkInterfaceActions networkInterfaces;
    private final InternetGatewayActions internetGateways;
    private final AddressActions addresses;
    private final NatGatewayActions natGateways;

    private final Runnable changed;

    /** {@code changed} runs after every call that changed state (the fabric converges on it). */
    public Ec2Api(Database db, Ec2Quotas quotas, Runnable changed) {
        this.changed = changed;
        this.store = new VpcStore(db, quotas);
        this.securityGroups = new SecurityGroupActions(db, quotas);
        this.networkAcls = new NetworkAclActions(db);
        this.routeTables = new RouteTableActions(db);
        this.instances = new InstanceActions(db, quotas);
        this.networkInterfaces = new NetworkInterfaceActions(db);
        this.internetGateways = new InternetGatewayActions(db);
        this.addresses = new AddressActions(db, quotas);
        this.natGateways = new NatGatewayActions(db);
    }

    /** EC2's error envelope, for errors raised outside the API (authentication, the store). */
    public static String errorXml(String code, String message, String requestId) {
        return Xml.error(code, message, requestId);
    }

    /** The response: HTTP status and XML body. */
    public record Response(int status, String xml) {
    }

    public Response handle(String accountId, Map<String, String> parameters, String requestId) {
        QueryParams p = new QueryParams(parameters);
        try {
            String action = p.required("Action");
            String xml = switch (action) {
                case "CreateVpc" -> createVpc(accountId, p, requestId);
                case "DescribeVpcs" -> describeVpcs(accountId, p, requestId);
                case "DeleteVpc" -> deleteVpc(accountId, p, requestId);
                case "CreateSubnet" -> createSubnet(accountId, p, requestId);
                case "DescribeSubnets" -> describeSubnets(accountId, p, requestId);
                case "DeleteSubnet" -> deleteSubnet(accountId, p, requestId);
                case "ModifySubnetAttribute" -> modifySubnetAttribute(accountId, p, requestId);
                case "ModifyVpcAttribute" -> modifyVpcAttribute(accountId, p, requestId);
                case "DescribeVpcAttribute" -> describeVpcAttribute(accountId, p, requestId);
                case "CreateInternetGateway" -> internetGateways.create(accountId, p, requestId);
                case "AttachInternetGateway" -> internetGateways.attach(accountId, p, requestId);
                case "DetachInternetGateway" -> internetGateways.detach(accountId, p, requestId);
                case "DeleteInternetGateway" -> internetGateways.delete(accountId, p, requestId);
                case "DescribeInternetGateways" -> internetGateways.describe(accountId, p, requestId);
                case "AllocateAddress" -> addresses.allocate(accountId, p, requestId);
                case "ReleaseAddress" -> addresses.release(accountId, p, requestId);
                case "DescribeAddresses" -> addresses.describe(accountId, p, requestId);
                case "AssociateAddress" -> addresses.associate(accountId, p, requestId);
                case "DisassociateAddress" -> addresses.disassociate(accountId, p, requestId);
                case "CreateNatGateway" -> natGateways.create(accountId, p, requestId);
                case "DeleteNatGateway" -> natGateways.delete(accountId, p, requestId);
                case "DescribeNatGateways" -> natGateways.describe(accountId, p, requestId);
                case "CreateTags" -> createTags(accountId, p, requestId);
                case "DeleteTags" -> deleteTags(accountId, p, requestId);
                case "DescribeTags" -> describeTags(accountId, p, requestId);
                case "CreateSecurityGroup" -> securityGroups.create(accountId, p, requestId);
                case "DescribeSecurityGroups" -> securityGroups.describe(accountId, p, requestId);
                case "DeleteSecurityGroup" -> securityGroups.delete(accountId, p, requestId);
                case "AuthorizeSecurityGroupIngress" -> securityGroups.change(accountId, p, requestId, false, true);
                case "AuthorizeSecurityGroupEgress" -> securityGroups.change(accountId, p, requestId, true, true);
                case "RevokeSecurityGroupIngress" -> securityGroups.change(accountId, p, requestId, false, false);
                case "RevokeSecurityGroupEgress" -> securityGroups.change(accountId, p, requestId, true, false);
                case "CreateNetworkAcl" -> networkAcls.create(accountId, p, requestId);
                case "DescribeNetworkAcls" -> networkAcls.describe(accountId, p, requestId);
                case "DeleteNetworkAcl" -> networkAcls.delete(accountId, p, requestId);
                case "CreateNetworkAclEntry" -> networkAcls.putEntry(accountId, p, requestId, false);
                case "ReplaceNetworkAclEntry" -> networkAcls.putEntry(accountId, p, requestId, true);
                case "DeleteNetworkAclEntry" -> networkAcls.deleteEntry(accountId, p, requestId);
                case "ReplaceNetworkAclAssociation" -> networkAcls.replaceAssociation(accountId, p, requestId);
                case "CreateRouteTable" -> routeTables.create(accountId, p, requestId);
                case "DescribeRouteTables" -> routeTables.describe(accountId, p, requestId);
                case "DeleteRouteTable" -> routeTables.delete(accountId, p, requestId);
                case "CreateRoute" -> routeTables.createRoute(accountId, p, requestId);
                case "DeleteRoute" -> routeTables.deleteRoute(accountId, p, requestId);
                case "ReplaceRoute" -> routeTables.replaceRoute(accountId, p, requestId);
                case "ReplaceRouteTableAssociation" -> routeTables.replaceAssociation(accountId, p, requestId);
                case "AssociateRouteTable" -> routeTables.associate(accountId, p, requestId);
                case "DisassociateRouteTable" -> routeTables.disassociate(accountId, p, requestId);
                case "RunInstances" -> instances.run(accountId, p, requestId);
                case "DescribeInstances" -> instances.describe(accountId, p, requestId);
                case "TerminateInstances" -> instances.terminate(accountId, p, requestId);
                case "DescribeNetworkInterfaces" -> networkInterfaces.describe(accountId, p, requestId);
                case "DeleteNetworkInterface" -> networkInterfaces.delete(accountId, p, requestId);
                default -> throw Ec2Error.client("InvalidAction", "The action " + action + " is not valid for this web service.");
            };
            if (!action.startsWith("Describe")) {
                changed.run();
            }
            return new Response(200, xml);
        } catch (Ec2Error e) {
            return new Response(e.status(), Xml.error(e.code(), e.getMessage(), requestId));
        }
    }

    // ---- VPCs

    private String createVpc(String account, QueryParams p, String requestId) {
        VpcStore.Vpc vpc = store.createVpc(account, p.get("CidrBlock"), tagSpecifications(p, "vpc"));
        Xml x = new Xml().openRoot("CreateVpcResponse").element("requestId", requestId).open("vpc");
        vpc(x, vpc);
        return x.close("vpc").close("CreateVpcResponse").toString();
    }

    private static final Set<String> VPC_FILTERS = Set.of("vpc-id", "cidr", "cidr-block", "cidr-block-association.cidr-block",
            "state", "owner-id", "is-default", "dhcp-options-id");

    private String describeVpcs(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("VpcId");
        Filters filters = Filters.parse(p, VPC_FILTERS);
        List<VpcStore.Vpc> all = store.vpcs(account);
        requireAllFound(ids, all.stream().map(VpcStore.Vpc::id).toList(), "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist");
        Xml x = new Xml().openRoot("DescribeVpcsResponse").element("requestId", requestId).open("vpcSet");
        for (VpcStore.Vpc vpc : all) {
            if ((ids.isEmpty() || ids.contains(vpc.id())) && filters.matches(vpcAttributes(vpc), vpc.tags())) {
                x.open("item");
                vpc(x, vpc);
                x.close("item");
            }
        }
        return x.close("vpcSet").close("DescribeVpcsResponse").toString();
    }

    private static Function<String, List<String>> vpcAttributes(VpcStore.Vpc vpc) {
        return name -> switch (name) {
            case "vpc-id" -> List.of(vpc.id());
            case "cidr", "cidr-block", "cidr-block-association.cidr-block" -> List.of(vpc.cidr());
            case "state" -> List.of("available");
            case "owner-id" -> List.of(vpc.accountId());
            case "is-default" -> List.of("false");
            case "dhcp-options-id" -> List.of("default");
            default -> List.of();
        };
    }

    private static void vpc(Xml x, VpcStore.Vpc vpc) {
        x.element("vpcId", vpc.id()).element("ownerId", vpc.accountId()).element("state", "available")
                .element("cidrBlock", vpc.cidr())
                .open("cidrBlockAssociationSet").open("item").element("cidrBlock", vpc.cidr())
                .element("associationId", vpc.id().replace("vpc-", "vpc-cidr-assoc-"))
                .open("cidrBlockState").element("state", "associated").close("cidrBlockState").close("item")
                .close("cidrBlockAssociationSet")
                .empty("ipv6CidrBlockAssociationSet")
                .element("dhcpOptionsId", "default").element("instanceTenancy", "default").element("isDefault", "false");
        tagSet(x, vpc.tags());
    }

    private String deleteVpc(String account, QueryParams p, String requestId) {
        store.deleteVpc(account, p.required("VpcId"));
        return returnTrue("DeleteVpcResponse", requestId);
    }

    // ---- subnets

    private String createSubnet(String account, QueryParams p, String requestId) {
        VpcStore.Subnet subnet = store.createSubnet(account, p.required("VpcId"), p.get("CidrBlock"), p.get("AvailabilityZone"),
                tagSpecifications(p, "subnet"));
        Xml x = new Xml().openRoot("CreateSubnetResponse").element("requestId", requestId).open("subnet");
        subnet(x, subnet);
        return x.close("subnet").close("CreateSubnetResponse").toString();
    }

    private static final Set<String> SUBNET_FILTERS = Set.of("subnet-id", "vpc-id", "cidr", "cidr-block", "cidrBlock",
            "availability-zone", "availabilityZone", "state", "owner-id", "default-for-az", "available-ip-address-count",
            "map-public-ip-on-launch");

    private String describeSubnets(String account, QueryParams p, String requestId) {
        List<String> ids = p.list("SubnetId");
        Filters filters = Filters.parse(p, SUBNET_FILTERS);
        List<VpcStore.Subnet> all = store.subnets(account);
        requireAllFound(ids, all.stream().map(VpcStore.Subnet::id).toList(), "InvalidSubnetID.NotFound",
                "The subnet ID '%s' does not exist");
        Xml x = new Xml().openRoot("DescribeSubnetsResponse").element("requestId", requestId).open("subnetSet");
        for (VpcStore.Subnet subnet : all) {
            if ((ids.isEmpty() || ids.contains(subnet.id())) && filters.matches(subnetAttributes(subnet), subnet.tags())) {
                x.open("item");
                subnet(x, subnet);
                x.close("item");
            }
        }
        return x.close("subnetSet").close("DescribeSubnetsResponse").toString();
    }

    private static Function<String, List<String>> subnetAttributes(VpcStore.Subnet s) {
        return name -> switch (name) {
            case "subnet-id" -> List.of(s.id());
            case "vpc-id" -> List.of(s.vpcId());
            case "cidr", "cidr-block", "cidrBlock" -> List.of(s.cidr());
            case "availability-zone", "availabilityZone" -> List.of(s.availabilityZone());
            case "state" -> List.of("available");
            case "owner-id" -> List.of(s.accountId());
            case "default-for-az" -> List.of("false");
            case "available-ip-address-count" -> List.of(String.valueOf(s.availableAddresses()));
            case "map-public-ip-on-launch" -> List.of(String.valueOf(s.mapPublicIpOnLaunch()));
            default -> List.of();
        };
    }

    private static void subnet(Xml x, VpcStore.Subnet s) {
        x.element("subnetId", s.id()).element("subnetArn", "arn:aws:ec2:" + REGION + ":" + s.accountId() + ":subnet/" + s.id())
                .element("state", "available").element("vpcId", s.vpcId()).element("ownerId", s.accountId())
                .element("cidrBlock", s.cidr()).element("availableIpAddressCount", s.availableAddresses())
                .element("availabilityZone", s.availabilityZone())
                .element("availabilityZoneId", "use1-az" + (VpcStore.AVAILABILITY_ZONES.indexOf(s.availabilityZone()) + 1))
                .element("defaultForAz", "false").element("mapPublicIpOnLaunch", s.mapPublicIpOnLaunch())
                .element("assignIpv6AddressOnCreation", "false").empty("ipv6CidrBlockAssociationSet");
        tagSet(x, s.tags());
    }

    private String deleteSubnet(String account, QueryParams p, String requestId) {
        store.deleteSubnet(account, p.required("SubnetId"));
        return returnTrue("DeleteSubnetResponse", requestId);
    }

    private String modifySubnetAttribute(String account, QueryParams p, String requestId) {
        String subnetId = p.required("SubnetId");
        String map = p.get("MapPublicIpOnLaunch.Value");
        if (map == null) {
            throw Ec2Error.client("InvalidParameterCombination", "Only the MapPublicIpOnLaunch attribute can be modified here, and it must be given.");
        }
        store.mapPublicIpOnLaunch(account, subnetId, booleanValue("MapPublicIpOnLaunch", map));
        return returnTrue("ModifySubnetAttributeResponse", requestId);
    }

    /** ModifyVpcAttribute's attributes and their columns (VPC user guide, "DNS attributes for your VPC"). */
    private static final Map<String, String> VPC_ATTRIBUTES = Map.of("EnableDnsSupport", "enable_dns_support",
            "EnableDnsHostnames", "enable_dns_hostnames");

    private String modifyVpcAttribute(String account, QueryParams p, String requestId) {
        String vpcId = p.required("VpcId");
        List<String> given = VPC_ATTRIBUTES.keySet().stream().filter(a -> p.get(a + ".Value") != null).sorted().toList();
        if (given.size() != 1) {
            // EC2 changes one attribute per call.
            throw Ec2Error.client("InvalidParameterCombination", "Fields for multiple attribute types specified: " + String.join(", ", given));
        }
        String attribute = given.getFirst();
        store.setDnsAttribute(account, vpcId, VPC_ATTRIBUTES.get(attribute), booleanValue(attribute, p.get(attribute + ".Value")));
        return returnTrue("ModifyVpcAttributeResponse", requestId);
    }

    private String describeVpcAttribute(String account, QueryParams p, String requestId) {
        String vpcId = p.required("VpcId");
        String attribute = p.required("Attribute");
        VpcStore.DnsAttributes dns = store.dnsAttributes(account, vpcId);
        boolean value = switch (attribute) {
            case "enableDnsSupport" -> dns.support();
            case "enableDnsHostnames" -> dns.hostnames();
            default -> throw Ec2Error.invalidValue("attribute", attribute, "Unknown attribute.");
        };
        return new Xml().openRoot("DescribeVpcAttributeResponse").element("requestId", requestId).element("vpcId", vpcId)
                .open(attribute).element("value", value).close(attribute).close("DescribeVpcAttributeResponse").toString();
    }

    private static boolean booleanValue(String parameter, String text) {
        if (!text.equals("true") && !text.equals("false")) {
            throw Ec2Error.invalidValue(parameter, text, "It must be true or false.");
        }
        return Boolean.parseBoolean(text);
    }

    // ---- tags

    private String createTags(String account, QueryParams p, String requestId) {
        List<String> resources = p.list("ResourceId");
        if (resources.isEmpty()) {
            throw Ec2Error.missing("ResourceId.N");
        }
        store.createTags(account, resources, tags(p.structures("Tag")));
        return returnTrue("CreateTagsResponse", requestId);
    }

    private String deleteTags(String account, QueryParams p, String requestId) {
        List<String> resources = p.list("ResourceId");
        if (resources.isEmpty()) {
            throw Ec2Error.missing("ResourceId.N");
        }
        store.deleteTags(account, resources, tags(p.structures("Tag")));
        return returnTrue("DeleteTagsResponse", requestId);
    }

    private static final Set<String> TAG_FILTERS = Set.of("resource-id", "resource-type", "key", "value");

    private String describeTags(String account, QueryParams p, String requestId) {
        Filters filters = Filters.parse(p, TAG_FILTERS);
        Xml x = new Xml().openRoot("DescribeTagsResponse").element("requestId", requestId).open("tagSet");
        for (Map.Entry<String, Map<String, String>> resource : store.tags(account).entrySet()) {
            String id = resource.getKey();
            String type = id.substring(0, id.indexOf('-'));
            for (Map.Entry<String, String> tag : resource.getValue().entrySet()) {
                Function<String, List<String>> attributes = name -> switch (name) {
                    case "resource-id" -> List.of(id);
                    case "resource-type" -> List.of(type);
                    case "key" -> List.of(tag.getKey());
                    case "value" -> List.of(tag.getValue());
                    default -> List.of();
                };
                if (filters.matches(attributes, resource.getValue())) {
                    x.open("item").element("resourceId", id).element("resourceType", type).element("key", tag.getKey())
                            .element("value", tag.getValue()).close("item");
                }
            }
        }
        return x.close("tagSet").close("DescribeTagsResponse").toString();
    }

    // ---- shared

    /** Tags given at creation: TagSpecification.N.ResourceType must name this resource type. */
    static Map<String, String> tagSpecifications(QueryParams p, String resourceType) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (QueryParams spec : p.structures("TagSpecification")) {
            String type = spec.get("ResourceType");
            if (type != null && !type.equals(resourceType)) {
                throw Ec2Error.client("InvalidParameterValue", "'" + type + "' is not a valid taggable resource type for this operation.");
            }
            tags.putAll(tags(spec.structures("Tag")));
        }
        return tags;
    }

    /** EC2 user guide, "Tag restrictions": keys up to 128 characters, values up to 256. */
    private static final int MAX_TAG_KEY = 128;
    private static final int MAX_TAG_VALUE = 256;

    private static Map<String, String> tags(List<QueryParams> tagParams) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (QueryParams tag : tagParams) {
            String key = tag.get("Key");
            if (key == null || key.isEmpty()) {
                throw Ec2Error.missing("Tag.N.Key");
            }
            if (key.length() > MAX_TAG_KEY) {
                throw Ec2Error.invalidValue("Tag.Key", key, "Tag keys have at most " + MAX_TAG_KEY + " characters.");
            }
            String value = tag.get("Value");
            if (value != null && value.length() > MAX_TAG_VALUE) {
                throw Ec2Error.invalidValue("Tag.Value", value, "Tag values have at most " + MAX_TAG_VALUE + " characters.");
            }
            tags.put(key, value);
        }
        return tags;
    }

    static void tagSet(Xml x, Map<String, String> tags) {
        if (tags.isEmpty()) {
            x.empty("tagSet");
            return;
        }
        x.open("tagSet");
        tags.forEach((k, v) -> x.open("item").element("key", k).element("value", v == null ? "" : v).close("item"));
        x.close("tagSet");
    }

    private static void requireAllFound(List<String> requested, List<String> existing, String code, String message) {
        for (String id : requested) {
            if (!existing.contains(id)) {
                throw Ec2Error.client(code, message.formatted(id));
            }
        }
    }

    static String returnTrue(String root, String requestId) {
        return new Xml().openRoot(root).element("requestId", requestId).element("return", "true").close(root).toString();
    }
}
