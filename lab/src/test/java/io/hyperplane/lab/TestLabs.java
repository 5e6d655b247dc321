package io.hyperplane.lab;

import io.hyperplane.linux.exec.Tool;
import io.hyperplane.linux.exec.Tools;
import io.hyperplane.linux.netns.Namespaces;
import io.hyperplane.lab.spec.LabSpec;
import io.hyperplane.lab.spec.LabSpecYaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared set-up for tests that build real namespaces (they need root and iproute2). */
public final class TestLabs {
    /** A small lab: one node, one host with one EE, one VPC with one subnet and one resource host. */
    public static final String SMALL = """
            prefix: %s
            underlay: { cidr: 198.18.0.0/15 }
            eeNetwork: { cidr: 100.64.0.0/24, gateway: 100.64.0.1, gatewayMac: "02:48:50:00:00:01" }
            nodes: [ { name: node1, underlayIp: 198.18.0.1 } ]
            hosts:
              - name: host1
                underlayIp: 198.18.0.11
                executionEnvironments: [ { name: ee1, ip: 100.64.0.11, vni: 5001, eni: eni-1 } ]
            vpcs:
              - id: vpc-1
                cidr: 10.0.0.0/16
                router: { name: vpc1, underlayIp: 198.18.0.21 }
                subnets: [ { id: subnet-1, cidr: 10.0.1.0/24, vni: 1001 } ]
                networkAcls: [ { id: acl-1, default: true } ]
                routeTables: [ { id: rtb-1, main: true, routes: [ { destination: 10.0.0.0/16, target: local } ] } ]
                enis: [ { id: eni-1, subnet: subnet-1, ip: 10.0.1.4 } ]
                resources:
                  - { name: res1, subnet: subnet-1, ip: 10.0.1.10, services: [ { proto: tcp, port: 7, kind: echo } ] }
            """;

    private TestLabs() {
    }

    static LabSpec small(String prefix) {
        return LabSpecYaml.parse(SMALL.formatted(prefix), "small lab");
    }

    /**
     * Lab tests need root, iproute2 and ethtool. They fail, not skip, without them: a skipped
     * test would report green for a lab nobody tested. {@code ./hyperplane test} installs the tools.
     */
    static void assumeRootWithTools() {
        assertTrue(isRoot(), "lab tests build network namespaces and need root");
        assertTrue(Tools.isAvailable(Tool.IP) && Tools.isAvailable(Tool.ETHTOOL),
                "lab tests need iproute2 and ethtool (apt-get install -y iproute2 ethtool, or run ./hyperplane test)");
    }

    static Path tempStateRoot() throws IOException {
        return Files.createTempDirectory("hp-lab-test");
    }

    /**
     * Last line of defence after a test: removes, by exact name, any namespace of {@code spec}
     * that is still there (a failed down must not leak namespaces into the machine).
     */
    static void removeLeftovers(LabSpec spec) throws InterruptedException {
        Set<String> existing = Namespaces.list();
        List<String> left = spec.namespaces().reversed().stream().filter(existing::contains).toList();
        Namespaces.killProcesses(left, Duration.ofSeconds(1));
        left.forEach(Namespaces::delete);
    }

    static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    static List<String> labNamespacesOnMachine(String prefix) {
        return Namespaces.list().stream().filter(name -> name.startsWith(prefix)).sorted().toList();
    }

    private static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(line -> line.startsWith("Uid:")).anyMatch(line -> line.split("\\s+")[2].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }
}
