package io.hyperplane.lab.fabric;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.FabricState.Route;
import io.hyperplane.config.fabric.FabricState.RouteTarget;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RouteTablesTest {
    private static FabricState.SubnetNetwork subnet(String id, String cidr, int vni, List<Route> routes) {
        return new FabricState.SubnetNetwork(id, cidr, vni, cidr.replace(".0/24", ".1"), List.of(), List.of(), routes);
    }

    private static final FabricState.VpcNetwork VPC = new FabricState.VpcNetwork("vpc-1", "10.0.0.0/16", null, List.of(
            subnet("public", "10.0.1.0/24", 2001, List.of(new Route("10.0.0.0/16", RouteTarget.LOCAL, null),
                    new Route("0.0.0.0/0", RouteTarget.INTERNET_GATEWAY, null))),
            subnet("private", "10.0.2.0/24", 2002, List.of(new Route("10.0.0.0/16", RouteTarget.LOCAL, null),
                    new Route("0.0.0.0/0", RouteTarget.NAT_GATEWAY, "10.0.1.50"), new Route("192.0.2.0/24", RouteTarget.BLACKHOLE, null))),
            subnet("isolated", "10.0.3.0/24", 2003, List.of(new Route("10.0.0.0/16", RouteTarget.LOCAL, null))),
            subnet("legacy", "10.0.4.0/24", 2004, List.of())), List.of());

    @Test
    void shouldGiveEachSubnetWithRoutesATableAndLeaveTheOthersOnTheMainTable() {
        assertThat(RouteTables.tables(VPC)).containsExactly(Map.entry("hp-b2001", 2001), Map.entry("hp-b2002", 2002), Map.entry("hp-b2003", 2003));
    }

    @Test
    void shouldRenderEachTargetAndADefaultToNoRoute() {
        assertThat(RouteTables.render(VPC, true)).isEqualTo("""
                route flush table 2001
                route add throw 10.0.0.0/16 table 2001
                route add 0.0.0.0/0 via 169.254.255.2 dev hp-igw table 2001
                route flush table 2002
                route add throw 10.0.0.0/16 table 2002
                route add 0.0.0.0/0 via 10.0.1.50 dev hp-b2001 table 2002
                route add 192.0.2.0/24 dev hp-noroute table 2002
                route flush table 2003
                route add throw 10.0.0.0/16 table 2003
                route add 0.0.0.0/0 dev hp-noroute table 2003
                """);
    }

    @Test
    void shouldSendGatewayRoutesNowhereWithoutALink() {
        assertThat(RouteTables.render(VPC, false)).contains("route add 0.0.0.0/0 dev hp-noroute table 2001");
    }

    @Test
    void shouldChangeOnlyTheRulesThatDiffer() {
        Map<String, Integer> now = RouteTables.parseRules("""
                0:	from all lookup local
                1000:	from all iif hp-b2001 lookup 2001
                1000:	from all iif hp-b2009 lookup 2009
                32766:	from all lookup main
                """);
        assertThat(now).containsExactly(Map.entry("hp-b2001", 2001), Map.entry("hp-b2009", 2009));
        assertThat(RouteTables.ruleChanges(now, Map.of("hp-b2001", 2001, "hp-b2002", 2002)))
                .containsExactly("rule del pref 1000 iif hp-b2009 lookup 2009", "rule add pref 1000 iif hp-b2002 lookup 2002");
    }
}
