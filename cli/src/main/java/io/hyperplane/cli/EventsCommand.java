package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.client.Ec2QueryClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code hyperplane events}: each function's asynchronous invocations as the store counts them. */
@Command(name = "events", mixinStandardHelpOptions = true,
        description = "List the account's asynchronous (Event) invocations per function: queued, in flight, succeeded, retried (retries"
                + " scheduled), dead (dropped after their retries or maximum age, or whose function is gone) and redelivered (run again"
                + " after a restart or an expired lease: possible duplicates).")
final class EventsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the server's JSON view as is.")
    boolean json;

    @Mixin
    ServerClientOptions server;

    @Override
    public Integer call() throws Exception {
        Ec2QueryClient client = server.client();
        JsonNode view = new ObjectMapper().readTree(client.getJson("/hyperplane/v1/events"));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(PrettyJson.of(view));
            return 0;
        }
        if (view.path("Functions").isEmpty()) {
            out.println("no asynchronous invocations yet");
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"FUNCTION", "QUEUED", "IN-FLIGHT", "SUCCEEDED", "RETRIED", "DEAD", "REDELIVERED"});
        for (JsonNode f : view.path("Functions")) {
            rows.add(new String[] {f.path("FunctionName").asText(), f.path("Queued").asText(), f.path("InFlight").asText(),
                    f.path("Succeeded").asText(), f.path("Retried").asText(), f.path("Dead").asText(), f.path("Redelivered").asText()});
        }
        Table.print(out, rows);
        return 0;
    }
}
