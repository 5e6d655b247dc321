package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToLongFunction;

/**
 * A forwarder node registering itself, and keeping itself registered, about once a second
 * ({@code PUT /hyperplane/v1/nodes/NAME}); answered with {@link NodeHeartbeatAnswer}.
 *
 * @param port           the node's VXLAN port
 * @param appliedVersion the configuration version its forwarding thread runs ({@link #NO_VERSION}: none
 *                       yet); within one incarnation it never lowers what the node acknowledged
 * @param incarnation    the same for every heartbeat of one node process, another after a restart
 *                       (empty when the node sends none)
 * @param enis           per ENI of the applied configuration, its load
 * @param natGateways    per NAT gateway of the applied configuration, its CloudWatch-named metrics
 *                       as this node counted them since it started (empty when the node sends none)
 * @param flows          open flows on the whole node, every ENI's (what its share of the fleet's flows
 *                       is counted in); a node that sends none: the sum over {@code enis}
 * @param natPorts       NAT ports the whole node holds; a node that sends none: the sum over {@code enis}
 * @param netns          the network namespace its VXLAN socket is in, on its host (empty: the host's own, or not sent)
 * @param pid            its process on its host ({@link #NO_PID}: not sent); with {@code netns}, where an operator finds it
 * @param ready          it may take its own traffic: false while it resynchronises its flows after a
 *                       start (DESIGN.md §10); true when left out, as nodes before the fleet plan
 *                       resynchronise nothing
 * @param syncedTo       the underlay address of the backup this node has copied every flow of its own to, every
 *                       copy acknowledged (empty: none, or still copying): the control plane hands a returning
 *                       node's flows back this way before it puts it in service (docs/fleet.md, "Return")
 * @param syncedToIncarnation the incarnation of that backup's process, as its acknowledgements gave it (empty
 *                       with {@code syncedTo}): a copy to a backup that restarted since is no copy, and a node
 *                       that restarted in place is told from its earlier run by this
 * @param threads        its forwarding threads ({@link #THREADS_UNKNOWN}: not sent); a fleet's members must
 *                       run the same number, since a flow's copy is applied on the thread of the sender's
 */
public record NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                            List<NatGatewayUsage> natGateways, long flows, long natPorts, String netns, long pid, boolean ready,
                            String syncedTo, int threads, String syncedToIncarnation) {
    /** VXLAN's IANA port (RFC 7348 §5): the port of a node that names none. */
    public static final int DEFAULT_PORT = 4789;
    /** The applied version of a node that runs no configuration yet, or names none. */
    public static final long NO_VERSION = -1;
    /** The pid of a node that sends none. */
    public static final long NO_PID = 0;
    /** The thread count of a node that sends none. */
    public static final int THREADS_UNKNOWN = 0;
    private static final String MESSAGE = "node heartbeat";

    public NodeHeartbeat {
        Check.ipv4(underlayIp, MESSAGE, "underlayIp");
        Check.port(port, MESSAGE, "port");
        Check.atLeast(appliedVersion, NO_VERSION, MESSAGE, "appliedVersion");
        incarnation = incarnation == null ? "" : incarnation;
        enis = enis == null ? List.of() : Check.list(enis, MESSAGE, "enis");
        natGateways = natGateways == null ? List.of() : Check.list(natGateways, MESSAGE, "natGateways");
        Check.atLeast(flows, 0, MESSAGE, "flows");
        Check.atLeast(natPorts, 0, MESSAGE, "natPorts");
        netns = netns == null || netns.isEmpty() ? "" : Check.name(netns, MESSAGE, "netns");
        Check.atLeast(pid, NO_PID, MESSAGE, "pid");
        syncedTo = syncedTo == null || syncedTo.isEmpty() ? "" : Check.ipv4(syncedTo, MESSAGE, "syncedTo");
        Check.atLeast(threads, THREADS_UNKNOWN, MESSAGE, "threads");
        syncedToIncarnation = syncedToIncarnation == null || syncedToIncarnation.isEmpty() || syncedTo.isEmpty() ? ""
                : Check.name(syncedToIncarnation, MESSAGE, "syncedToIncarnation");
    }

    /** A heartbeat that does not say which run of its backup it copied its flows to. */
    public NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                         List<NatGatewayUsage> natGateways, long flows, long natPorts, String netns, long pid, boolean ready,
                         String syncedTo, int threads) {
        this(underlayIp, port, appliedVersion, incarnation, enis, natGateways, flows, natPorts, netns, pid, ready, syncedTo, threads, "");
    }

    /** A heartbeat that reports no finished copy to a backup. */
    public NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                         List<NatGatewayUsage> natGateways, long flows, long natPorts, String netns, long pid, boolean ready) {
        this(underlayIp, port, appliedVersion, incarnation, enis, natGateways, flows, natPorts, netns, pid, ready, "", THREADS_UNKNOWN);
    }

    /** A ready node's heartbeat. */
    public NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                         List<NatGatewayUsage> natGateways, long flows, long natPorts, String netns, long pid) {
        this(underlayIp, port, appliedVersion, incarnation, enis, natGateways, flows, natPorts, netns, pid, true);
    }

    /** A heartbeat that says nothing of where the node runs. */
    public NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                         List<NatGatewayUsage> natGateways, long flows, long natPorts) {
        this(underlayIp, port, appliedVersion, incarnation, enis, natGateways, flows, natPorts, "", NO_PID);
    }

    /** A heartbeat whose node-wide figures are its ENIs' summed. */
    public NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis,
                         List<NatGatewayUsage> natGateways) {
        this(underlayIp, port, appliedVersion, incarnation, enis, natGateways, sum(enis, EniUsage::flows), sum(enis, EniUsage::natPorts));
    }

    /** A heartbeat without NAT gateways. */
    public NodeHeartbeat(String underlayIp, int port, long appliedVersion, String incarnation, List<EniUsage> enis) {
        this(underlayIp, port, appliedVersion, incarnation, enis, List.of());
    }

    private static long sum(List<EniUsage> enis, ToLongFunction<EniUsage> figure) {
        return enis == null ? 0 : enis.stream().filter(Objects::nonNull).mapToLong(figure).sum();
    }

    /** As read from the wire, where a node may leave out its port, its version, its ENIs, its node-wide figures, where it runs and whether it is ready. */
    @JsonCreator
    static NodeHeartbeat read(@JsonProperty("underlayIp") String underlayIp, @JsonProperty("port") Integer port,
                              @JsonProperty("appliedVersion") Long appliedVersion, @JsonProperty("incarnation") String incarnation,
                              @JsonProperty("enis") List<EniUsage> enis, @JsonProperty("natGateways") List<NatGatewayUsage> natGateways,
                              @JsonProperty("flows") Long flows, @JsonProperty("natPorts") Long natPorts,
                              @JsonProperty("netns") String netns, @JsonProperty("pid") Long pid, @JsonProperty("ready") Boolean ready,
                              @JsonProperty("syncedTo") String syncedTo, @JsonProperty("threads") Integer threads,
                              @JsonProperty("syncedToIncarnation") String syncedToIncarnation) {
        return new NodeHeartbeat(underlayIp, port == null ? DEFAULT_PORT : port, appliedVersion == null ? NO_VERSION : appliedVersion,
                incarnation, enis, natGateways, flows == null ? sum(enis, EniUsage::flows) : flows,
                natPorts == null ? sum(enis, EniUsage::natPorts) : natPorts, netns, pid == null ? NO_PID : pid, ready == null || ready,
                syncedTo, threads == null ? THREADS_UNKNOWN : threads, syncedToIncarnation);
    }

    /**
     * One NAT gateway of the applied configuration: its metrics by CloudWatch name
     * (ActiveConnectionCount, ErrorPortAllocation, BytesOutToDestination, ...), counts since the
     * node started except ActiveConnectionCount, which is the connections open now.
     */
    public record NatGatewayUsage(String id, Map<String, Long> metrics) {
        private static final String MESSAGE = "node heartbeat NAT gateway";

        public NatGatewayUsage {
            Check.text(id, MESSAGE, "id");
            metrics = metrics == null ? Map.of() : metrics;
            for (Map.Entry<String, Long> metric : metrics.entrySet()) {
                Check.text(metric.getKey(), MESSAGE, "metric name");
                Check.present(metric.getValue(), MESSAGE, "metric " + metric.getKey());
            }
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics)); // in the node's order, as stat shows them
        }
    }

    /**
     * One ENI of the applied configuration, named by its id (its address repeats across VPCs):
     * open flows, and NAT ports held (one per tracked flow, finished ones too until reclaimed).
     */
    public record EniUsage(String id, String ip, @JsonProperty(required = true) long flows, @JsonProperty(required = true) long natPorts) {
        private static final String MESSAGE = "node heartbeat ENI";

        public EniUsage {
            Check.text(id, MESSAGE, "id");
            Check.ipv4(ip, MESSAGE, "ip");
            Check.atLeast(flows, 0, MESSAGE, "flows");
            Check.atLeast(natPorts, 0, MESSAGE, "natPorts");
        }
    }
}
