package io.hyperplane.control.ec2;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.fleet.NodeRegistry;
import io.hyperplane.control.fleet.NodeRegistry.NatGatewayMetrics;
import io.hyperplane.control.store.Database;

import java.util.List;
import java.util.Map;

/**
 * What {@code hyperplane nat-gateways} reads ({@code GET /hyperplane/v1/nat-gateways}, the caller's
 * account only): each NAT gateway DescribeNatGateways shows, in the shape the AWS CLI prints it
 * (NatGatewayId, State, NatGatewayAddresses, ...), with what CloudWatch would show of it under
 * {@code Metrics}: its metrics by CloudWatch's names, summed over the live forwarder nodes that
 * carry it, and each node's own figures under {@code MetricsByNode}. The nodes count since they
 * started, so the counts are a node's lifetime totals rather than CloudWatch's per-period sums;
 * ActiveConnectionCount is the connections open now. A gateway no live node reports has empty metrics.
 */
public final class NatGatewayView {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Database db;
    private final NodeRegistry nodes;

    public NatGatewayView(Database db, NodeRegistry nodes) {
        this.db = db;
        this.nodes = nodes;
    }

    /** The account's NAT gateways with their metrics, as JSON. */
    public String json(String account) {
        Map<String, NatGatewayMetrics> metrics = nodes.metricsByNatGateway();
        List<NatGatewayActions.NatGateway> gateways = db.inTransaction(c -> NatGatewayActions.gateways(c, account));
        ObjectNode out = NODES.objectNode();
        ArrayNode list = out.putArray("NatGateways");
        for (NatGatewayActions.NatGateway g : gateways) {
            ObjectNode nat = list.addObject();
            nat.put("NatGatewayId", g.id()).put("State", g.state().stored()).put("SubnetId", g.subnetId()).put("VpcId", g.vpcId())
                    .put("ConnectivityType", g.connectivityType()).put("CreateTime", g.createdAt().toString());
            if (g.deletedAt() != null) {
                nat.put("DeleteTime", g.deletedAt().toString());
            }
            if (g.failureCode() != null) {
                nat.put("FailureCode", g.failureCode()).put("FailureMessage", g.failureMessage());
            }
            ArrayNode addresses = nat.putArray("NatGatewayAddresses");
            if (g.privateIp() != null || g.allocationId() != null) { // as DescribeNatGateways: none for a private one that failed
                ObjectNode address = addresses.addObject();
                putPresent(address, "AllocationId", g.allocationId());
                putPresent(address, "NetworkInterfaceId", g.eniId());
                putPresent(address, "PrivateIp", g.privateIp());
                putPresent(address, "PublicIp", g.publicIp());
                putPresent(address, "AssociationId", g.associationId());
                address.put("IsPrimary", true).put("Status", NatGatewayActions.addressStatus(g.state()));
            }
            ArrayNode tags = nat.putArray("Tags");
            g.tags().forEach((key, value) -> tags.addObject().put("Key", key).put("Value", value));
            NatGatewayMetrics m = metrics.getOrDefault(g.id(), NatGatewayMetrics.NONE);
            ObjectNode total = nat.putObject("Metrics");
            m.total().forEach(total::put);
            ObjectNode byNode = nat.putObject("MetricsByNode");
            m.byNode().forEach((node, figures) -> {
                ObjectNode one = byNode.putObject(node);
                figures.forEach(one::put);
            });
        }
        try {
            return JSON.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** EC2's JSON leaves out what a gateway does not have (a private one's public address). */
    private static void putPresent(ObjectNode node, String name, String value) {
        if (value != null) {
            node.put(name, value);
        }
    }
}
