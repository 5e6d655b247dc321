package io.hyperplane.cli;

import io.hyperplane.node.ForwarderNode;
import io.hyperplane.node.NodeSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "node", mixinStandardHelpOptions = true,
        description = "Run a forwarder node: tunnels EE traffic to Hyperplane ENIs, with SG/NACL/route policy and NAT.")
final class NodeCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "Node snapshot (JSON). Reloaded when it changes; established flows are kept.")
    Path config;

    @Option(names = "--listen", defaultValue = "0.0.0.0:4789", paramLabel = "IP:PORT",
            description = "VXLAN underlay address to bind (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--name", defaultValue = "node", description = "Node name, shown by 'hyperplane stat'.")
    String name;

    @Option(names = "--counters", paramLabel = "FILE", description = "Counters file (default: <config>.counters).")
    Path counters;

    @Option(names = "--flow-capacity", defaultValue = "1000000", description = "Tracked flows (default: ${DEFAULT-VALUE}).")
    int flowCapacity;

    @Option(names = "--tcp-established-timeout", defaultValue = "350", paramLabel = "SECONDS",
            description = "Idle timeout of established TCP flows (default: ${DEFAULT-VALUE}).")
    int tcpEstablished;

    @Option(names = "--batch", defaultValue = "64", description = "Datagrams per recvmmsg/sendmmsg (default: ${DEFAULT-VALUE}).")
    int batch;

    @Override
    public Integer call() throws Exception {
        NodeSettings settings = new NodeSettings().name(name).listen(listen).configFile(config).countersFile(counters)
                .flowCapacity(flowCapacity).tcpEstablishedTimeout(Duration.ofSeconds(tcpEstablished)).batchSize(batch);
        ForwarderNode node = ForwarderNode.start(settings);
        Thread hook = new Thread(node::close, "hp-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println("hyperplane node " + settings.name() + " ready: listening on " + listen
                + ", config version " + node.configVersion() + ", counters " + settings.countersFile());
        System.out.flush();
        node.awaitStop();
        return 0;
    }
}
