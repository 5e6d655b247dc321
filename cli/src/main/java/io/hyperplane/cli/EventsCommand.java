package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code hyperplane events}: each function's asynchronous invocations as the store counts them. */
@Command(name = "events", mixinStandardHelpOptions = true,
        description = "List the account's asynchronous (Event) invocations per function: queued, in flight, succeeded, retried (retries"
                + " scheduled), dead (dropped after their retries or maximum age, or whose function is gone) and redelivered (run again"
                + " after a restart or an expired lease: possible duplicates).")
final class EventsCommand extends AccountViewCommand {
    @Override
    String path() {
        return "/hyperplane/v1/events";
    }

    @Override
    void print(JsonNode view, PrintWriter out) {
        if (view.path("Functions").isEmpty()) {
            out.println("no asynchronous invocations yet");
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"FUNCTION", "QUEUED", "IN-FLIGHT", "SUCCEEDED", "RETRIED", "DEAD", "REDELIVERED"});
        for (JsonNode f : view.path("Functions")) {
            rows.add(new String[] {f.path("FunctionName").asText(), f.path("Queued").asText(), f.path("InFlight").asText(),
                    f.path("Succeeded").asText(), f.path("Retried").asText(), f.path("Dead").asText(), f.path("Redelivered").asText()});
        }
        Table.print(out, rows);
    }
}
