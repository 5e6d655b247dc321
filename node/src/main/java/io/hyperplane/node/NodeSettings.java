package io.hyperplane.node;

import io.hyperplane.dataplane.Forwarder;
import io.hyperplane.node.io.BatchedUdpSocket;
import io.hyperplane.packet.Ipv4Address;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything a forwarder node is started with: named defaults in one place, fluent setters, and
 * one {@link #validate()} whose messages say which value is wrong and why.
 */
public final class NodeSettings {
    public static final int DEFAULT_BATCH_SIZE = 64; // ~31 datagrams per read were seen at load; room above it
    public static final int DEFAULT_SLOT_SIZE = 2048; // lab underlay MTU 1600 < 2048; jumbo frames are not used
    public static final int DEFAULT_SOCKET_BUFFER = 8 << 20; // absorbs bursts while a batch is processed
    public static final Duration DEFAULT_RECEIVE_TIMEOUT = Duration.ofMillis(50); // bounds timer and shutdown latency
    public static final Duration DEFAULT_PUBLISH_INTERVAL = Duration.ofMillis(100);
    public static final Duration DEFAULT_CONFIG_POLL = Duration.ofMillis(250);

    private String name = "node";
    private int listenIp;
    private int listenPort = Forwarder.Settings.DEFAULTS.vxlanPort();
    private Path configFile;
    private Path countersFile;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private int slotSize = DEFAULT_SLOT_SIZE;
    private int socketBufferBytes = DEFAULT_SOCKET_BUFFER;
    private Duration receiveTimeout = DEFAULT_RECEIVE_TIMEOUT;
    private Duration publishInterval = DEFAULT_PUBLISH_INTERVAL;
    private Duration configPoll = DEFAULT_CONFIG_POLL;
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

    public NodeSettings countersFile(Path countersFile) {
        this.countersFile = countersFile;
        return this;
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

    public NodeSettings tcpEstablishedTimeout(Duration timeout) {
        this.forwarder = forwarder.withTimeouts(forwarder.timeouts().withTcpEstablished((int) timeout.toSeconds()));
        return this;
    }

    public NodeSettings configPoll(Duration poll) {
        this.configPoll = poll;
        return this;
    }

    public NodeSettings validate() {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,32}")) {
            throw new IllegalArgumentException("name '" + name + "': 1-32 letters, digits, '.', '_' or '-'");
        }
        if (listenPort < 1 || listenPort > 65535) {
            throw new IllegalArgumentException("listen port " + listenPort + ": must be 1..65535");
        }
        Objects.requireNonNull(configFile, "config file: required (--config FILE)");
        if (batchSize < 1 || batchSize > BatchedUdpSocket.MAX_BATCH_SIZE) {
            throw new IllegalArgumentException("batch size " + batchSize + ": must be 1.." + BatchedUdpSocket.MAX_BATCH_SIZE);
        }
        if (receiveTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("receive timeout " + receiveTimeout + ": must be at least 1 ms");
        }
        return this;
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

    /** The counters file: as given, else {@code <config file>.counters}. */
    public Path countersFile() {
        return countersFile != null ? countersFile : configFile.resolveSibling(configFile.getFileName() + ".counters");
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

    public Forwarder.Settings forwarder() {
        return forwarder;
    }
}
