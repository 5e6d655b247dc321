package io.hyperplane.node;

import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.node.io.BatchedUdpSocket;
import io.hyperplane.packet.Ipv4Address;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a forwarder node is started with: named defaults in one place, fluent setters, and
 * one {@link #validate()} whose messages say which value is wrong and why.
 */
public final class NodeSettings {
    public static final int DEFAULT_BATCH_SIZE = 64; // ~31 datagrams per read were seen at load; room above it
    public static final int DEFAULT_SLOT_SIZE = 2048; // lab underlay MTU 1600 < 2048; jumbo frames are not used
    public static final int DEFAULT_SOCKET_BUFFER = 8 << 20; // absorbs bursts while a batch is processed
    // Bounds how long an idle node takes to switch to a new config (an environment waits for it) and
    // timer and shutdown latency; 200 idle wake-ups a second cost nothing measurable.
    public static final Duration DEFAULT_RECEIVE_TIMEOUT = Duration.ofMillis(5);
    public static final Duration DEFAULT_PUBLISH_INTERVAL = Duration.ofMillis(100);
    public static final Duration DEFAULT_CONFIG_POLL = Duration.ofMillis(250);
    /** How long the control plane may hold a config request open when nothing changes (the contract's waitSeconds). */
    public static final Duration DEFAULT_CONTROL_WAIT = Duration.ofSeconds(20);
    /** Heartbeats keep the node registered and report NAT ports; the control plane's view is at most this stale. */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(1);
    /** Where a node fetching its config from the control plane keeps its cache and counters, by node name. */
    /**
     * More forwarding threads than this would each hold under 1/64 of the flow table and of
     * every quota; no machine this runs on has that many cores to give a node.
     */
    public static final int MAX_THREADS = 64;
    public static final Path DEFAULT_STATE_ROOT = Path.of("/var/lib/hyperplane");

    private String name = "node";
    private int listenIp;
    private int listenPort = Forwarder.Settings.DEFAULTS.vxlanPort();
    private Path configFile;
    private URI controlUrl;
    private Path tokenFile;
    private Path stateDir;
    private int underlayIp;
    private String netns;
    private Path countersFile;
    private int batchSize = DEFAULT_BATCH_SIZE;
    /** The CPUs this process may use (its affinity mask and cgroup quota, as the JVM reads them). */
    private int threads = Math.min(Runtime.getRuntime().availableProcessors(), MAX_THREADS);
    private int slotSize = DEFAULT_SLOT_SIZE;
    private int socketBufferBytes = DEFAULT_SOCKET_BUFFER;
    private Duration receiveTimeout = DEFAULT_RECEIVE_TIMEOUT;
    private Duration publishInterval = DEFAULT_PUBLISH_INTERVAL;
    private Duration configPoll = DEFAULT_CONFIG_POLL;
    private Duration controlWait = DEFAULT_CONTROL_WAIT;
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private Forwarder.Settings forwarder = Forwarder.Settings.DEFAULTS;

    public NodeSettings name(String name) {
        this.name = name;
        return this;
    }

    /** "IP:PORT" or "IP" (port 4789). */
    public NodeSettings listen(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon >= 0) {
            listenIp = Ipv4Address.parse(hostPort.substring(0, colon));
            try {
                listenPort = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("listen '" + hostPort + "': port is not a number");
            }
        } else {
            listenIp = Ipv4Address.parse(hostPort);
        }
        return this;
    }

    public NodeSettings configFile(Path configFile) {
        this.configFile = configFile;
        return this;
    }

    /** The control plane's base URL, e.g. {@code http://127.0.0.1:8765}: the node fetches its config there instead of a file. */
    public NodeSettings controlUrl(String url) {
        if (url == null) {
            this.controlUrl = null;
            return this;
        }
        URI uri;
        try {
            uri = new URI(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("control URL '" + url + "': " + e.getReason());
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || uri.getQuery() != null || uri.getFragment() != null) {
            throw new IllegalArgumentException("control URL '" + url + "': must be http://HOST[:PORT][/PATH] or https://...");
        }
        this.controlUrl = uri;
        return this;
    }

    /** A file holding the bearer token for the control plane (one line). */
    public NodeSettings tokenFile(Path tokenFile) {
        this.tokenFile = tokenFile;
        return this;
    }

    /** Where a control-plane node caches its last snapshot and keeps its counters; default {@code /var/lib/hyperplane/node-NAME}. */
    public NodeSettings stateDir(Path stateDir) {
        this.stateDir = stateDir;
        return this;
    }

    /** The address VPCs tunnel to, as registered with the control plane; default the listen address. Null clears it. */
    public NodeSettings underlayIp(String ip) {
        this.underlayIp = ip == null ? 0 : Ipv4Address.parse(ip);
        return this;
    }

    /** Opens the UDP socket inside network namespace {@code /run/netns/NAME}; the rest of the node stays where it is. */
    public NodeSettings netns(String netns) {
        this.netns = netns;
        return this;
    }

    public NodeSettings countersFile(Path countersFile) {
        this.countersFile = countersFile;
        return this;
    }

    /**
     * Forwarding threads: each owns the flows the kernel steers to it (docs/architecture.md, "The
     * node's duty cycle") and its share of the flow table and quotas. 1 is a single socket and
     * thread, with no steering.
     */
    public NodeSettings threads(int threads) {
        this.threads = threads;
        return this;
    }

    public int threads() {
        return threads;
    }

    public NodeSettings batchSize(int batchSize) {
        this.batchSize = batchSize;
        return this;
    }

    /** Socket send and receive buffer size in bytes; 0 keeps the kernel's default. */
    public NodeSettings socketBufferBytes(int bytes) {
        this.socketBufferBytes = bytes;
        return this;
    }

    public NodeSettings flowCapacity(int capacity) {
        this.forwarder = forwarder.withFlowCapacity(capacity);
        return this;
    }

    /** Open flows one ENI and one execution environment may have at once (DESIGN.md §9). */
    public NodeSettings flowQuotas(int perEni, int perEnvironment) {
        this.forwarder = forwarder.withFlowQuotas(perEni, perEnvironment);
        return this;
    }

    /** Next hops the node keeps, in all and per subnet. */
    public NodeSettings neighbors(int capacity, int perSubnet) {
        this.forwarder = forwarder.withNeighbors(capacity, perSubnet);
        return this;
    }

    /**
     * Open connections a NAT gateway may have to one destination (AWS: 55,000); tests scale it down
     * to reach it quickly.
     */
    public NodeSettings natConnectionsPerDestination(int perDestination) {
        this.forwarder = forwarder.withNatConnectionsPerDestination(perDestination);
        return this;
    }

    /** The idle timeout of established TCP flows, and of replied UDP flows through a NAT gateway (AWS: 350 s for both). */
    public NodeSettings tcpEstablishedTimeout(Duration timeout) {
        this.forwarder = forwarder.withTimeouts(forwarder.timeouts().withTcpEstablished((int) timeout.toSeconds()));
        return this;
    }

    public NodeSettings configPoll(Duration poll) {
        this.configPoll = poll;
        return this;
    }

    public NodeSettings controlWait(Duration wait) {
        this.controlWait = wait;
        return this;
    }

    public NodeSettings heartbeatInterval(Duration interval) {
        this.heartbeatInterval = interval;
        return this;
    }

    public NodeSettings validate() {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,32}")) {
            throw new IllegalArgumentException("name '" + name + "': 1-32 letters, digits, '.', '_' or '-'");
        }
        if (listenPort < 1 || listenPort > 65535) {
            throw new IllegalArgumentException("listen port " + listenPort + ": must be 1..65535");
        }
        if ((configFile == null) == (controlUrl == null)) {
            throw new IllegalArgumentException(configFile == null
                    ? "no configuration source: give --config FILE or --control URL"
                    : "--config " + configFile + " and --control " + controlUrl + ": give only one of them");
        }
        if (controlUrl != null) {
            validateControl();
        }
        if (netns != null && (!netns.matches("[A-Za-z0-9_.-]{1,64}") || netns.startsWith("."))) {
            throw new IllegalArgumentException("netns '" + netns + "': a name under /run/netns (letters, digits, '.', '_', '-'; not starting with '.')");
        }
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads " + threads + ": must be 1.." + MAX_THREADS);
        }
        if (batchSize < 1 || batchSize > BatchedUdpSocket.MAX_BATCH_SIZE) {
            throw new IllegalArgumentException("batch size " + batchSize + ": must be 1.." + BatchedUdpSocket.MAX_BATCH_SIZE);
        }
        if (receiveTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("receive timeout " + receiveTimeout + ": must be at least 1 ms");
        }
        return this;
    }

    private void validateControl() {
        if (tokenFile == null) {
            throw new IllegalArgumentException("--control " + controlUrl + ": needs --token-file FILE (the control plane's bearer token)");
        }
        if (underlayIp() == 0) {
            throw new IllegalArgumentException("--control " + controlUrl + ": the control plane must know where VPCs tunnel to this node;"
                    + " give --underlay-ip IP or --listen with a specific IP (not 0.0.0.0)");
        }
        if (controlWait.toSeconds() < 1) {
            throw new IllegalArgumentException("control wait " + controlWait + ": must be at least 1 s");
        }
        if (heartbeatInterval.toMillis() < 1) {
            throw new IllegalArgumentException("heartbeat interval " + heartbeatInterval + ": must be at least 1 ms");
        }
    }

    public String name() {
        return name;
    }

    public int listenIp() {
        return listenIp;
    }

    public int listenPort() {
        return listenPort;
    }

    public Path configFile() {
        return configFile;
    }

    /** Null when the node reads its config from a file. */
    public URI controlUrl() {
        return controlUrl;
    }

    public Path tokenFile() {
        return tokenFile;
    }

    /** The state directory: as given, else {@code /var/lib/hyperplane/node-NAME}. Used only with a control plane. */
    public Path stateDir() {
        return stateDir != null ? stateDir : DEFAULT_STATE_ROOT.resolve("node-" + name);
    }

    /** The address registered with the control plane: {@link #underlayIp(String)} if given, else the listen address. */
    public int underlayIp() {
        return underlayIp != 0 ? underlayIp : listenIp;
    }

    /** Null: the socket opens in the JVM's own network namespace. */
    public String netns() {
        return netns;
    }

    /**
     * The counters file: as given, else {@code <config file>.counters}, or {@code <state dir>/counters}
     * with a control plane.
     */
    public Path countersFile() {
        if (countersFile != null) {
            return countersFile;
        }
        return configFile != null ? configFile.resolveSibling(configFile.getFileName() + ".counters") : stateDir().resolve("counters");
    }

    public int batchSize() {
        return batchSize;
    }

    public int slotSize() {
        return slotSize;
    }

    public int socketBufferBytes() {
        return socketBufferBytes;
    }

    public Duration receiveTimeout() {
        return receiveTimeout;
    }

    public Duration publishInterval() {
        return publishInterval;
    }

    public Duration configPoll() {
        return configPoll;
    }

    public Duration controlWait() {
        return controlWait;
    }

    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    public Forwarder.Settings forwarder() {
        return forwarder;
    }
}
