package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.client.Ec2QueryClient;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;

@Command(name = "describe", mixinStandardHelpOptions = true,
        description = {"Show the server's resources as tables (or JSON with --json):",
                "vpcs, subnets, instances, security-groups, route-tables, network-acls."})
final class DescribeCommand implements Callable<Integer> {
    private record Column(String header, Function<Element, String> value) {
    }

    private record Kind(String action, String set, List<Column> columns) {
    }

    private static final Map<String, Kind> KINDS = Map.of(
            "vpcs", new Kind("DescribeVpcs", "vpcSet", List.of(col("VPC", "vpcId"), col("CIDR", "cidrBlock"), col("STATE", "state"), nameTag())),
            "subnets", new Kind("DescribeSubnets", "subnetSet", List.of(col("SUBNET", "subnetId"), col("VPC", "vpcId"), col("CIDR", "cidrBlock"),
                    col("ZONE", "availabilityZone"), col("FREE IPS", "availableIpAddressCount"), nameTag())),
            "instances", new Kind("DescribeInstances", "reservationSet", List.of(col("INSTANCE", "instanceId"),
                    new Column("STATE", e -> Ec2QueryClient.text(Ec2QueryClient.child(e, "instanceState"), "name")),
                    col("SUBNET", "subnetId"), col("PRIVATE IP", "privateIpAddress"),
                    new Column("GROUPS", e -> String.join(",", Ec2QueryClient.items(Ec2QueryClient.child(e, "groupSet")).stream()
                            .map(g -> Ec2QueryClient.text(g, "groupName")).toList())), nameTag())),
            "security-groups", new Kind("DescribeSecurityGroups", "securityGroupInfo", List.of(col("GROUP", "groupId"), col("NAME", "groupName"),
                    col("VPC", "vpcId"), new Column("INGRESS RULES", e -> String.valueOf(Ec2QueryClient.items(Ec2QueryClient.child(e, "ipPermissions")).size())),
                    new Column("EGRESS RULES", e -> String.valueOf(Ec2QueryClient.items(Ec2QueryClient.child(e, "ipPermissionsEgress")).size())))),
            "route-tables", new Kind("DescribeRouteTables", "routeTableSet", List.of(col("ROUTE TABLE", "routeTableId"), col("VPC", "vpcId"),
                    new Column("ROUTES", e -> String.join(" ", Ec2QueryClient.items(Ec2QueryClient.child(e, "routeSet")).stream()
                            .map(r -> Ec2QueryClient.text(r, "destinationCidrBlock") + "->" + target(r)).toList())),
                    new Column("SUBNETS", e -> String.join(",", Ec2QueryClient.items(Ec2QueryClient.child(e, "associationSet")).stream()
                            .map(a -> Ec2QueryClient.text(a, "main").equals("true") ? "main" : Ec2QueryClient.text(a, "subnetId")).toList())))),
            "network-acls", new Kind("DescribeNetworkAcls", "networkAclSet", List.of(col("ACL", "networkAclId"), col("VPC", "vpcId"),
                    col("DEFAULT", "default"), new Column("RULES", e -> String.valueOf(Ec2QueryClient.items(Ec2QueryClient.child(e, "entrySet")).size())),
                    new Column("SUBNETS", e -> String.join(",", Ec2QueryClient.items(Ec2QueryClient.child(e, "associationSet")).stream()
                            .map(a -> Ec2QueryClient.text(a, "subnetId")).toList())))));

    @Parameters(index = "0", paramLabel = "WHAT", description = "vpcs, subnets, instances, security-groups, route-tables or network-acls")
    String what;

    @Option(names = "--json", description = "Print a JSON array of the resources, field names as in the EC2 API.")
    boolean json;

    @Mixin
    ServerClientOptions server;

    @Override
    public Integer call() throws Exception {
        Kind kind = KINDS.get(what);
        if (kind == null) {
            throw new IllegalArgumentException("'" + what + "': expected one of " + String.join(", ", KINDS.keySet().stream().sorted().toList()));
        }
        Ec2QueryClient client = server.client();
        Element root = client.call(kind.action(), Map.of());
        List<Element> items = new ArrayList<>();
        for (Element item : Ec2QueryClient.items(Ec2QueryClient.child(root, kind.set()))) {
            if (what.equals("instances")) {
                items.addAll(Ec2QueryClient.items(Ec2QueryClient.child(item, "instancesSet")));
            } else {
                items.add(item);
            }
        }
        if (json) {
            ArrayNode array = JsonNodeFactory.instance.arrayNode();
            items.forEach(i -> array.add(toJson(i)));
            System.out.println(PrettyJson.of(array));
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(kind.columns().stream().map(Column::header).toArray(String[]::new));
        for (Element item : items) {
            rows.add(kind.columns().stream().map(c -> c.value().apply(item)).toArray(String[]::new));
        }
        Table.print(new PrintWriter(System.out, true), rows);
        return 0;
    }

    private static Column col(String header, String element) {
        return new Column(header, e -> {
            Element child = Ec2QueryClient.child(e, element);
            return child == null ? "" : child.getTextContent();
        });
    }

    private static Column nameTag() {
        return new Column("NAME", e -> Ec2QueryClient.items(Ec2QueryClient.child(e, "tagSet")).stream()
                .filter(t -> Ec2QueryClient.text(t, "key").equals("Name")).map(t -> Ec2QueryClient.text(t, "value")).findFirst().orElse(""));
    }

    private static String target(Element route) {
        for (String name : List.of("gatewayId", "natGatewayId", "networkInterfaceId", "instanceId", "vpcPeeringConnectionId", "transitGatewayId")) {
            Element child = Ec2QueryClient.child(route, name);
            if (child != null) {
                return child.getTextContent();
            }
        }
        return "?";
    }

    /** XML to JSON as the AWS CLI shows it: a set of items becomes an array, leaves become strings. */
    private static JsonNode toJson(Element element) {
        List<Element> children = new ArrayList<>();
        for (Node n = element.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                children.add(e);
            }
        }
        if (children.isEmpty()) {
            return element.getTagName().endsWith("Set") ? JsonNodeFactory.instance.arrayNode()
                    : JsonNodeFactory.instance.textNode(element.getTextContent());
        }
        if (children.stream().allMatch(c -> c.getTagName().equals("item"))) {
            ArrayNode array = JsonNodeFactory.instance.arrayNode();
            children.forEach(c -> array.add(toJson(c)));
            return array;
        }
        ObjectNode object = JsonNodeFactory.instance.objectNode();
        for (Element child : children) {
            object.set(child.getTagName(), toJson(child));
        }
        return object;
    }
}
