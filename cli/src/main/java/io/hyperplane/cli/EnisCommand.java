package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code hyperplane enis}: each Hyperplane ENI's key, address, state, users, and its load on the nodes. */
@Command(name = "enis", mixinStandardHelpOptions = true,
        description = "List the account's Hyperplane ENIs: key (subnet + security groups), IP, state, the functions and execution"
                + " environments using each, and the flows and NAT ports in use on it as reported by the live forwarder nodes.")
final class EnisCommand extends AccountViewCommand {
    @Override
    String path() {
        return "/hyperplane/v1/enis";
    }

    @Override
    void print(JsonNode view, PrintWriter out) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ENI", "SUBNET", "GROUPS", "IP", "STATE", "FUNCTIONS", "EES", "FLOWS", "NAT PORTS"});
        for (JsonNode eni : view.path("NetworkInterfaces")) {
            List<String> groups = new ArrayList<>();
            eni.path("SecurityGroupIds").forEach(g -> groups.add(g.asText()));
            List<String> functions = new ArrayList<>();
            eni.path("Functions").forEach(f -> functions.add(f.asText()));
            rows.add(new String[] {eni.path("NetworkInterfaceId").asText(), eni.path("SubnetId").asText(), String.join(",", groups),
                    eni.path("PrivateIpAddress").asText(), eni.path("State").asText(), functions.isEmpty() ? "-" : String.join(",", functions),
                    eni.path("ExecutionEnvironments").asText(), eni.path("Flows").asText(), eni.path("NatPorts").asText()});
        }
        Table.print(out, rows);
        out.println();
        out.println("config version " + view.path("ConfigVersion").asLong() + "; nodes:");
        for (JsonNode node : view.path("Nodes")) {
            out.println("  " + node.path("Name").asText() + " " + node.path("UnderlayIp").asText() + " applied " + node.path("AppliedVersion").asLong()
                    + (node.path("Live").asBoolean() ? " live" : " NOT LIVE (last seen " + node.path("LastSeen").asText() + ")"));
        }
        if (view.path("Nodes").isEmpty()) {
            out.println("  (none registered)");
        }
    }
}
