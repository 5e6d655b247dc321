package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.lab.Lab;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
}
