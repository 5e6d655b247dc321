package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code hyperplane nat-gateways}: each NAT gateway as EC2 describes it, with its CloudWatch metrics from the nodes. */
@Command(name = "nat-gateways", mixinStandardHelpOptions = true,
        description = "List the account's NAT gateways (id, state, public and private IP) with their CloudWatch metrics summed over the live"
                + " forwarder nodes: ActiveConnectionCount (open now), ErrorPortAllocation, IdleTimeoutCount, and bytes out to and in"
                + " from the destination (BytesOutToDestination, BytesInFromDestination), each a count since the node started."
                + " --json prints every metric, per node too, beside DescribeNatGateways' fields.")
final class NatGatewaysCommand extends AccountViewCommand {
    /** The metrics the table shows, by CloudWatch's names, in its columns' order. */
    private static final List<String> METRICS = List.of("ActiveConnectionCount", "ErrorPortAllocation", "IdleTimeoutCount",
            "BytesOutToDestination", "BytesInFromDestination");
    /** What a column shows when there is nothing to show: no public address, or no live node reports the gateway. */
    private static final String NONE = "-";

    @Override
    String path() {
        return "/hyperplane/v1/nat-gateways";
    }

    @Override
    void print(JsonNode view, PrintWriter out) {
        if (view.path("NatGateways").isEmpty()) {
            out.println("no NAT gateways");
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAT GATEWAY", "STATE", "PUBLIC IP", "PRIVATE IP", "ACTIVE", "ERROR-PORT-ALLOC", "IDLE-TIMEOUTS", "BYTES-OUT",
                "BYTES-IN"});
        for (JsonNode nat : view.path("NatGateways")) {
            JsonNode address = nat.path("NatGatewayAddresses").path(0);
            JsonNode metrics = nat.path("Metrics");
            List<String> row = new ArrayList<>(List.of(nat.path("NatGatewayId").asText(), nat.path("State").asText(),
                    address.path("PublicIp").asText(NONE), address.path("PrivateIp").asText(NONE)));
            for (String metric : METRICS) {
                row.add(metrics.path(metric).asText(NONE));
            }
            rows.add(row.toArray(String[]::new));
        }
        Table.print(out, rows);
    }
}
