package io.hyperplane.lab;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fabric.ServiceEgressNetwork;
import io.hyperplane.lab.fabric.LabFabric;
import io.hyperplane.lab.spec.LabSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What a lab that is up consists of, as {@code hyperplane lab status} shows it. The JSON form's
 * first five keys ({@code namespaces, enis, executionEnvironments, resources, nodes}) are a
 * contract scripts and end-to-end tests rely on; keys after them may grow.
 *
 * @param namespaces        the lab's namespaces that exist, in creation order
 * @param missingNamespaces namespaces the lab made (journal) or should have (spec) that are gone
 * @param internet          the simulated internet, or null when the lab has none
 */
@JsonPropertyOrder({"namespaces", "enis", "executionEnvironments", "resources", "nodes", "prefix", "stateDir", "missingNamespaces", "internet"})
public record LabStatus(List<String> namespaces, List<EniStatus> enis, List<EeStatus> executionEnvironments,
                        List<ResourceStatus> resources, List<NodeStatus> nodes, String prefix, String stateDir,
                        List<String> missingNamespaces, InternetStatus internet) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public LabStatus {
        namespaces = List.copyOf(namespaces);
        enis = List.copyOf(enis);
        executionEnvironments = List.copyOf(executionEnvironments);
        resources = List.copyOf(resources);
        nodes = List.copyOf(nodes);
        missingNamespaces = List.copyOf(missingNamespaces);
    }

    @JsonPropertyOrder({"id", "ip", "subnet", "mac", "vpc", "securityGroups"})
    public record EniStatus(String id, String ip, String subnet, String mac, String vpc, List<String> securityGroups) {
    }

    @JsonPropertyOrder({"id", "namespace", "ip", "vni", "eni", "mac", "host"})
    public record EeStatus(String id, String namespace, String ip, int vni, String eni, String mac, String host) {
    }

    @JsonPropertyOrder({"namespace", "ip", "services", "name", "subnet", "log"})
    public record ResourceStatus(String namespace, String ip, List<ServiceStatus> services, String name, String subnet, String log) {
    }

    @JsonPropertyOrder({"proto", "port", "kind"})
    public record ServiceStatus(String proto, int port, String kind) {
    }

    /**
     * @param running whether any process lives in the node's namespace
     * @param pid     the node's process (the first in its namespace, where it is the only one), or null when none runs
     */
    @JsonPropertyOrder({"namespace", "underlayIp", "counters", "log", "name", "config", "running", "pid"})
    public record NodeStatus(String namespace, String underlayIp, String counters, String log, String name, String config, boolean running,
                             Long pid) {
    }

    /**
     * The simulated internet (config.fabric.Internet).
     *
     * @param namespace      the internet router's
     * @param underlayIp     the internet router's VTEP: the far end of the service egress subnet's tunnel
     * @param hostsNamespace where the internet's hosts live
     * @param host           the first internet host: GET /whoami on 80, TCP echo on 7, UDP echo on 53
     * @param serviceEgress  the public address environments bound to the service egress ENI leave by
     */
    @JsonPropertyOrder({"namespace", "underlayIp", "hostsNamespace", "host", "serviceEgress", "serviceEgressSubnet", "serviceEgressVni", "log"})
    public record InternetStatus(String namespace, String underlayIp, String hostsNamespace, String host, String serviceEgress,
                                 String serviceEgressSubnet, int serviceEgressVni, String log) {
    }

    /** Builds the status from the lab's spec, state directory and what exists now. */
    static LabStatus of(LabSpec spec, Path stateDir, Collection<String> journaled, Set<String> existing,
                        Function<String, List<Long>> processes) {
        List<String> expected = new ArrayList<>(journaled);
        spec.namespaces().stream().filter(ns -> !expected.contains(ns)).forEach(expected::add);
        List<String> present = expected.stream().filter(existing::contains).toList();
        List<String> missing = expected.stream().filter(ns -> !existing.contains(ns)).toList();
        List<EniStatus> enis = new ArrayList<>();
        List<ResourceStatus> resources = new ArrayList<>();
        for (LabSpec.Vpc vpc : spec.vpcs()) {
            vpc.enis().forEach(eni -> enis.add(new EniStatus(eni.id(), eni.ip(), eni.subnet(), eni.mac(), vpc.id(), eni.securityGroups())));
            for (LabSpec.Resource resource : vpc.resources()) {
                resources.add(new ResourceStatus(spec.namespace(resource.name()), resource.ip(),
                        resource.services().stream().map(s -> new ServiceStatus(s.proto(), s.port(), s.kind())).toList(),
                        resource.name(), resource.subnet(), stateDir.resolve(resource.name() + ".log").toString()));
            }
        }
        InternetStatus internet = null;
        if (spec.internet()) {
            NodeSnapshot.Eni egress = ServiceEgressNetwork.ENI;
            enis.add(new EniStatus(egress.id(), egress.ip(), egress.subnetId(), egress.mac(), Internet.SERVICE_EGRESS_VPC_ID, egress.securityGroupIds()));
            internet = new InternetStatus(spec.internetNamespace(), Internet.ROUTER_VTEP, spec.internetHostsNamespace(), Internet.HOST,
                    Internet.SERVICE_EGRESS_ADDRESS, Internet.SERVICE_EGRESS_SUBNET.toString(), Internet.SERVICE_EGRESS_VNI,
                    stateDir.resolve(LabFabric.INTERNET_HOST_LOG).toString());
        }
        List<EeStatus> ees = new ArrayList<>();
        for (LabSpec.Host host : spec.hosts()) {
            host.executionEnvironments().forEach(ee -> ees.add(new EeStatus(ee.name(), spec.namespace(ee.name()), ee.ip(), ee.vni(),
                    ee.eni(), ee.mac(), host.name())));
        }
        List<NodeStatus> nodes = spec.nodes().stream().map(node -> {
            String ns = spec.namespace(node.name());
            Long pid = existing.contains(ns) ? processes.apply(ns).stream().min(Long::compare).orElse(null) : null;
            return new NodeStatus(ns, node.underlayIp(), stateDir.resolve(node.name() + ".counters").toString(),
                    stateDir.resolve(node.name() + ".log").toString(), node.name(),
                    stateDir.resolve(node.name() + ".json").toString(), pid != null, pid);
        }).toList();
        return new LabStatus(present, enis, ees, resources, nodes, spec.prefix(), stateDir.toString(), missing, internet);
    }

    /** One line of JSON. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("lab status did not serialise", e);
        }
    }

    /** A table for people. */
    public String toTable() {
        StringBuilder out = new StringBuilder();
        out.append("lab ").append(prefix).append(" (state in ").append(stateDir).append(")\n");
        out.append("namespaces: ").append(String.join(" ", namespaces)).append("\n");
        if (!missingNamespaces.isEmpty()) {
            out.append("MISSING namespaces: ").append(String.join(" ", missingNamespaces))
                    .append(" (run 'hyperplane lab down', then up again)\n");
        }
        out.append("\n");
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("NODE", "NAMESPACE", "UNDERLAY", "PID", "LOG"));
        nodes.forEach(n -> rows.add(List.of(n.name(), n.namespace(), n.underlayIp(), n.running() ? n.pid().toString() : "NOT RUNNING", n.log())));
        table(out, rows);
        rows.clear();
        rows.add(List.of("ENI", "IP", "SUBNET", "MAC", "SECURITY GROUPS"));
        enis.forEach(e -> rows.add(List.of(e.id(), e.ip(), e.subnet(), e.mac(), String.join(",", e.securityGroups()))));
        table(out, rows);
        rows.clear();
        rows.add(List.of("EE", "NAMESPACE", "IP", "VNI", "ENI", "HOST"));
        executionEnvironments.forEach(e -> rows.add(List.of(e.id(), e.namespace(), e.ip(), Integer.toString(e.vni()), e.eni(), e.host())));
        table(out, rows);
        rows.clear();
        rows.add(List.of("RESOURCE", "NAMESPACE", "IP", "SUBNET", "SERVICES"));
        resources.forEach(r -> rows.add(List.of(r.name(), r.namespace(), r.ip(), r.subnet(), r.services().stream()
                .map(s -> s.proto() + "/" + s.port() + " " + s.kind()).collect(Collectors.joining(", ")))));
        table(out, rows);
        if (internet != null) {
            out.append("internet: router ").append(internet.namespace()).append(" (underlay ").append(internet.underlayIp())
                    .append("), hosts ").append(internet.hostsNamespace()).append(": ").append(internet.host())
                    .append(" (http 80 /whoami, tcp echo 7, udp echo 53); service egress ").append(internet.serviceEgress())
                    .append(" on ").append(internet.serviceEgressSubnet()).append(" vni ").append(internet.serviceEgressVni()).append("\n");
        }
        return out.toString().stripTrailing();
    }

    private static void table(StringBuilder out, List<List<String>> rows) {
        int columns = rows.getFirst().size();
        int[] widths = new int[columns];
        for (List<String> row : rows) {
            for (int i = 0; i < columns; i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                line.append(i == columns - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
            }
            out.append(line.toString().stripTrailing()).append("\n");
        }
        out.append("\n");
    }
}
