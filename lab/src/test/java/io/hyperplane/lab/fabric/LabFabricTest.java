package io.hyperplane.lab.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.lab.Lab;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The lab fabric on its own, fed desired states directly (root: it builds namespaces). */
class LabFabricTest {
    private static final String PREFIX = "hp-lf-";

    @Test
    @Timeout(60)
    void shouldConvergeTheHealthyInstancesWhenOneCannotBeBuilt() throws Exception {
        Path state = Files.createTempDirectory("hp-lab-fabric");
        List<String> log = new ArrayList<>();
        LabFabric fabric = new LabFabric(state, PREFIX, log::add);
        try {
            FabricState.SubnetNetwork subnet = new FabricState.SubnetNetwork("subnet-1", "10.9.1.0/24", 9001, "10.9.1.1",
                    List.of(new FabricState.AclRule(100, "-1", true, "0.0.0.0/0", -1, -1)),
                    List.of(new FabricState.AclRule(100, "-1", true, "0.0.0.0/0", -1, -1)));
            FabricState.InstanceHost good = new FabricState.InstanceHost("i-0000000000000good", "subnet-1", "10.9.1.4", 24, "10.9.1.1",
                    null, List.of(), List.of(new FabricState.Permission("-1", -1, -1, List.of("0.0.0.0/0"))));
            FabricState.InstanceHost broken = new FabricState.InstanceHost("i-00000000000broken", "subnet-gone", "10.9.1.5", 24, "10.9.1.1",
                    null, List.of(), List.of());
            FabricState desired = new FabricState(List.of(new FabricState.VpcNetwork("vpc-0000000000000test", "10.9.0.0/16", "198.19.0.9",
                    List.of(subnet), List.of(good, broken))), List.of());

            Set<String> up = fabric.apply(desired);

            assertThat(up).containsExactly(good.id());
            assertThat(Namespaces.list()).contains(PREFIX + good.id(), PREFIX + "vpc-0000000000000test");
            assertThat(log).anyMatch(line -> line.contains(broken.id()) && line.contains("not converged"));
            assertThat(fabric.apply(new FabricState(List.of(), List.of()))).isEmpty();
            assertThat(Namespaces.list()).noneMatch(n -> n.startsWith(PREFIX));
        } finally {
            new Lab(state, line -> { }).down();
        }
    }

    /**
     * The seal is in the router as soon as the VPC is, counts what it drops (here an instance
     * pinging its router's underlay address), follows the forwarder nodes, and is there again
     * after a restarted fabric adopts the router.
     */
    @Test
    @Timeout(60)
    void shouldSealEachRouterFromTheUnderlayAndKeepItSealedAcrossARestart() throws Exception {
        Path state = Files.createTempDirectory("hp-lab-fabric");
        try {
            FabricState.SubnetNetwork subnet = new FabricState.SubnetNetwork("subnet-1", "10.9.1.0/24", 9001, "10.9.1.1",
                    List.of(new FabricState.AclRule(100, "-1", true, "0.0.0.0/0", -1, -1)),
                    List.of(new FabricState.AclRule(100, "-1", true, "0.0.0.0/0", -1, -1)));
            FabricState.InstanceHost host = new FabricState.InstanceHost("i-0000000000000host", "subnet-1", "10.9.1.4", 24, "10.9.1.1",
                    null, List.of(), List.of(new FabricState.Permission("-1", -1, -1, List.of("0.0.0.0/0"))));
            FabricState.VpcNetwork vpc = new FabricState.VpcNetwork("vpc-0000000000000seal", "10.9.0.0/16", "198.19.0.9",
                    List.of(subnet), List.of(host));
            String router = PREFIX + vpc.id();
            new LabFabric(state, PREFIX, line -> { }).apply(new FabricState(List.of(vpc), List.of("198.18.0.1")));

            assertThat(sealCounters(router)).containsOnlyKeys(Arrays.stream(UnderlaySeal.Drop.values()).map(UnderlaySeal.Drop::counter).toList());
            assertThat(ruleset(router)).contains("198.18.0.1");
            ExecResult ping = Commands.run(Duration.ofSeconds(5), Namespaces.execIn(PREFIX + host.id(), List.of("ping", "-n", "-c", "1", "-W", "1", "198.19.0.9")));
            assertThat(ping.ok()).as("an instance pinging its router's VTEP: " + ping.stdout()).isFalse();
            assertThat(sealCounters(router).get(UnderlaySeal.Drop.TO_SYSTEM.counter())).isEqualTo(1L);

            // A restarted fabric adopts the router and loads its rules again, now for another node.
            new LabFabric(state, PREFIX, line -> { }).apply(new FabricState(List.of(vpc), List.of("198.18.0.2")));
            assertThat(ruleset(router)).contains("198.18.0.2").doesNotContain("198.18.0.1");
            assertThat(sealCounters(router)).containsKey(UnderlaySeal.Drop.VXLAN_OFF_UNDERLAY.counter());
        } finally {
            new Lab(state, line -> { }).down();
        }
    }

    private static String ruleset(String ns) {
        return Commands.check(Duration.ofSeconds(5), Namespaces.execIn(ns, List.of("nft", "list", "table", "inet", UnderlaySeal.TABLE))).stdout();
    }

    /** The seal's named counters and their packets. */
    private static Map<String, Long> sealCounters(String ns) throws Exception {
        String json = Commands.check(Duration.ofSeconds(5), Namespaces.execIn(ns, List.of("nft", "-j", "list", "table", "inet", UnderlaySeal.TABLE))).stdout();
        Map<String, Long> counters = new HashMap<>();
        for (JsonNode item : new ObjectMapper().readTree(json).path("nftables")) {
            if (item.path("counter").isObject()) {
                counters.put(item.path("counter").path("name").asText(), item.path("counter").path("packets").asLong());
            }
        }
        return counters;
    }
}
