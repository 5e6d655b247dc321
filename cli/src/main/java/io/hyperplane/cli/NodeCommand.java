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
    @Option(names = "--config", paramLabel = "FILE",
            description = "Node snapshot (JSON). Reloaded when it changes; established flows are kept. Or use --control.")
    Path config;

    @Option(names = "--control", paramLabel = "URL",
            description = "Fetch the config from the control plane at URL (e.g. http://127.0.0.1:8765) instead of --config,"
                    + " and register with it.")
    String control;

    @Option(names = "--token-file", paramLabel = "FILE", description = "The control plane's bearer token (one line); needed with --control.")
    Path tokenFile;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "With --control: cache of the last snapshot and the counters file (default: /var/lib/hyperplane/node-<name>).")
    Path stateDir;

    @Option(names = "--underlay-ip", paramLabel = "IP",
            description = "With --control: the address VPCs tunnel to, as registered (default: the --listen IP).")
    String underlayIp;

    @Option(names = "--netns", paramLabel = "NAME",
            description = "Open the VXLAN socket in network namespace NAME (/run/netns/NAME); the rest of the node stays in its own.")
    String netns;

    @Option(names = "--listen", defaultValue = "0.0.0.0:4789", paramLabel = "IP:PORT",
            description = "VXLAN underlay address to bind (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--name", defaultValue = "node", description = "Node name, shown by 'hyperplane stat'.")
    String name;

    @Option(names = "--counters", paramLabel = "FILE",
            description = "Counters file (default: <config>.counters, or <state-dir>/counters with --control).")
    Path counters;

    @Option(names = "--flow-capacity", defaultValue = "1000000", description = "Tracked flows (default: ${DEFAULT-VALUE}).")
    int flowCapacity;

    @Option(names = "--eni-flow-quota", defaultValue = "65000",
            description = "Open flows per ENI; past it new flows are dropped as drop-flow-quota (default: ${DEFAULT-VALUE}, AWS's connections per ENI).")
    int eniFlowQuota;

    @Option(names = "--environment-flow-quota", defaultValue = "4096",
            description = "Open flows per execution environment (default: ${DEFAULT-VALUE}).")
    int environmentFlowQuota;

    @Option(names = "--tcp-established-timeout", defaultValue = "350", paramLabel = "SECONDS",
            description = "Idle timeout of established TCP flows, and of answered UDP through a NAT gateway (default: ${DEFAULT-VALUE}, AWS's NAT gateway idle timeout).")
    int tcpEstablished;

    @Option(names = "--nat-connections-per-destination", defaultValue = "55000",
            description = "Open connections a NAT gateway may have to one destination (address, port, protocol);"
                    + " past it ErrorPortAllocation is counted (default: ${DEFAULT-VALUE}, AWS's limit).")
    int natConnectionsPerDestination;

    @Option(names = "--batch", defaultValue = "64", description = "Datagrams per recvmmsg/sendmmsg (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--threads", paramLabel = "N",
            description = "Forwarding threads, each owning its share of the flows (default: the CPUs this process may use).")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        NodeSettings settings = new NodeSettings().name(name).listen(listen).configFile(config).controlUrl(control)
                .tokenFile(tokenFile).stateDir(stateDir).underlayIp(underlayIp).netns(netns).countersFile(counters)
                .flowCapacity(flowCapacity).flowQuotas(eniFlowQuota, environmentFlowQuota).tcpEstablishedTimeout(Duration.ofSeconds(tcpEstablished))
                .natConnectionsPerDestination(natConnectionsPerDestination).batchSize(batch);
        if (threads != null) {
            settings.threads(threads);
        }
        UntilStopped<ForwarderNode> run = new UntilStopped<>("hp-shutdown", ForwarderNode::close);
        ForwarderNode node = run.start(() -> ForwarderNode.start(settings));
        run.announce(() -> announce(node, settings));
        node.awaitStop();
        return 0;
    }

    private void announce(ForwarderNode node, NodeSettings settings) {
        String version = node.configVersion() >= 0 ? "config version " + node.configVersion()
                : "no config yet, waiting for the control plane at " + settings.controlUrl();
        System.out.println("hyperplane node " + settings.name() + " ready: listening on " + listen
                + (netns == null ? "" : " in netns " + netns) + ", " + version + ", counters " + settings.countersFile());
        System.out.flush();
    }
}
