package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * A command that shows one of the server's views of the caller's account ({@code enis},
 * {@code events}, {@code nat-gateways}): fetched signed from {@link #path()}, printed as is with {@code --json}, else
 * as the command's table.
 */
abstract class AccountViewCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the server's JSON view as is.")
    boolean json;

    @Mixin
    ServerClientOptions server;

    /** The view's path on the server. */
    abstract String path();

    /** The view for people. */
    abstract void print(JsonNode view, PrintWriter out);

    @Override
    public final Integer call() throws Exception {
        JsonNode view = new ObjectMapper().readTree(server.client().getJson(path()));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(PrettyJson.of(view));
        } else {
            print(view, out);
        }
        return 0;
    }
}
