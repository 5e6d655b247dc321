package io.hyperplane.lab.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.FabricState.AclRule;
import io.hyperplane.config.fabric.FabricState.InstanceHost;
import io.hyperplane.config.fabric.FabricState.Permission;
import io.hyperplane.config.fabric.FabricState.PublicAddress;
import io.hyperplane.config.fabric.FabricState.Route;
import io.hyperplane.config.fabric.FabricState.RouteTarget;
import io.hyperplane.config.fabric.FabricState.SubnetNetwork;
import io.hyperplane.config.fabric.FabricState.VpcNetwork;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.config.fleet.FleetPlan;
import io.hyperplane.lab.Lab;
import io.hyperplane.lab.dns.Answers;
import io.hyperplane.lab.service.ServiceHost;
import io.hyperplane.linux.netns.NetworkNamespace;
import io.hyperplane.linux.exec.Commands;
import io.hyperplane.linux.exec.ExecResult;
import io.hyperplane.linux.netns.Namespaces;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The way out in the lab fabric, fed hand-built desired states (root: it builds namespaces): the
 * simulated internet, an internet gateway's one-to-one NAT, route tables, and the VPC's DNS.
 */
class InternetFabricTest {
    private static final String PREFIX = "hp-it-";
    private static final String VPC_ID = "vpc-00000000000inet1";
    private static final String ROUTER = PREFIX + VPC_ID;
    private static final List<AclRule> ALLOW_ALL = List.of(new AclRule(100, "-1", true, "0.0.0.0/0", -1, -1));
    private static final List<Permission> ANYWHERE = List.of(new Permission("-1", -1, -1, List.of("0.0.0.0/0")));
    private static final Route LOCAL = new Route("10.8.0.0/16", RouteTarget.LOCAL, null);
    private static final Route TO_GATEWAY = new Route("0.0.0.0/0", RouteTarget.INTERNET_GATEWAY, null);
    /** Where the NAT gateway would be (a forwarder node answers for it; none here). */
    private static final String NAT_GATEWAY_IP = "10.8.1.50";

    private static final InstanceHost WEB = new InstanceHost("i-00000000000000a01", "subnet-public", "10.8.1.4", 24, "10.8.1.1",
            "#!/bin/sh\ncat /etc/resolv.conf\nexec /usr/bin/python3 -m http.server 8080 --bind 10.8.1.4\n",
            List.of(new Permission("tcp", 8080, 8080, List.of("0.0.0.0/0"))), ANYWHERE);
    private static final InstanceHost UNMAPPED = instance("i-00000000000000b01", "subnet-public", "10.8.1.5", "10.8.1.1");
    private static final InstanceHost SEALED = instance("i-00000000000000c01", "subnet-private", "10.8.2.4", "10.8.2.1");
    private static final InstanceHost NATTED = instance("i-00000000000000d01", "subnet-nat", "10.8.3.4", "10.8.3.1");
    private static final String WEB_PUBLIC_IP = "198.51.100.4";

    private Path state;
    private LabFabric fabric;

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createTempDirectory("hp-internet-fabric");
        fabric = new LabFabric(state, PREFIX, line -> System.out.println("  " + line));
    }

    @AfterEach
    void tearDown() {
        fabric.close();
        new Lab(state, line -> { }).down();
        assertThat(Namespaces.list()).noneMatch(n -> n.startsWith(PREFIX));
        assertThat(state).doesNotExist();
    }

    private static InstanceHost instance(String id, String subnet, String ip, String gateway) {
        return new InstanceHost(id, subnet, ip, 24, gateway, null, ANYWHERE, ANYWHERE);
    }

    private static VpcNetwork vpc(String gateway, FabricState.Dns dns) {
        List<SubnetNetwork> subnets = List.of(
                new SubnetNetwork("subnet-public", "10.8.1.0/24", 8001, "10.8.1.1", ALLOW_ALL, ALLOW_ALL, List.of(LOCAL, TO_GATEWAY)),
                new SubnetNetwork("subnet-private", "10.8.2.0/24", 8002, "10.8.2.1", ALLOW_ALL, ALLOW_ALL, List.of(LOCAL)),
                new SubnetNetwork("subnet-nat", "10.8.3.0/24", 8003, "10.8.3.1", ALLOW_ALL, ALLOW_ALL,
                        List.of(LOCAL, new Route("0.0.0.0/0", RouteTarget.NAT_GATEWAY, NAT_GATEWAY_IP))));
        List<PublicAddress> addresses = gateway == null ? List.of() : List.of(new PublicAddress(WEB.ip(), WEB_PUBLIC_IP));
        return new VpcNetwork(VPC_ID, "10.8.0.0/16", "198.19.0.8", subnets, List.of(WEB, UNMAPPED, SEALED, NATTED), dns, gateway, addresses);
    }

    private static FabricState state(VpcNetwork vpc) {
        return new FabricState(List.of(vpc), List.of());
    }

    @Test
    @Timeout(180)
    void shouldTakeAPublicInstanceToTheInternetAndBackAndNoOtherInstance() throws Exception {
        FabricState.Dns dns = new FabricState.Dns(true, true, "ec2.internal");
        assertThat(fabric.apply(state(vpc("igw-00000000000000001", dns)))).hasSize(4);

        // Out: the internet sees the public address.
        ExecResult whoami = curl(PREFIX + WEB.id(), "http://" + Internet.HOST + "/whoami");
        assertThat(whoami.ok()).as(whoami.stderr()).isTrue();
        assertThat(whoami.stdout()).startsWith(WEB_PUBLIC_IP + ":");

        // In: the internet reaches the instance's server through its public address, past its ACL and security group.
        await().atMost(Duration.ofSeconds(30)).until(() -> curl(LabFabric.internetHostsNamespace(PREFIX), "http://" + WEB_PUBLIC_IP + ":8080/").ok());

        // The ways that must fail each wait out their timeout (3 s a curl, 1 s a ping): tried at once.
        String internetHosts = LabFabric.internetHostsNamespace(PREFIX);
        try (ExecutorService tries = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<ExecResult> unmapped = tries.submit(() -> curl(PREFIX + UNMAPPED.id(), "http://" + Internet.HOST + "/whoami"));
            Future<ExecResult> sealed = tries.submit(() -> curl(PREFIX + SEALED.id(), "http://" + Internet.HOST + "/whoami"));
            Future<ExecResult> natted = tries.submit(() -> curl(PREFIX + NATTED.id(), "http://" + Internet.HOST + "/whoami"));
            Future<Boolean> inToSealed = tries.submit(() -> ping(internetHosts, SEALED.ip()));
            Future<Boolean> inToUnderlay = tries.submit(() -> ping(internetHosts, "198.19.0.8"));
            Future<Boolean> inToRouterVtep = tries.submit(() -> ping(internetHosts, Internet.ROUTER_VTEP));
            Future<Boolean> publicToRouterVtep = tries.submit(() -> ping(PREFIX + WEB.id(), Internet.ROUTER_VTEP));

            // No public address: not out through the gateway, and counted.
            assertThat(unmapped.get().ok()).isFalse();
            assertThat(counters(ROUTER, UnderlaySeal.TABLE).get(UnderlaySeal.Drop.NO_PUBLIC_IP.counter())).isPositive();

            // No route to a gateway: not out, counted no_route.
            assertThat(sealed.get().ok()).isFalse();
            assertThat(counters(ROUTER, UnderlaySeal.TABLE).get(UnderlaySeal.Drop.NO_ROUTE.counter())).isPositive();
            // ... while within the VPC it still routes.
            assertThat(ping(PREFIX + SEALED.id(), UNMAPPED.ip())).isTrue();

            // A NAT gateway route: the router looks for the NAT gateway on its subnet's bridge.
            assertThat(natted.get().ok()).isFalse();
            String neighbours = Commands.check(Duration.ofSeconds(5), Namespaces.ipIn(ROUTER, "neigh", "show", NAT_GATEWAY_IP)).stdout();
            assertThat(neighbours).contains("dev hp-b8001");

            // The internet reaches nothing private: not the sealed instance, not the underlay.
            assertThat(inToSealed.get()).isFalse();
            assertThat(inToUnderlay.get()).isFalse();
            assertThat(inToRouterVtep.get()).isFalse();
            assertThat(counters(LabFabric.internetNamespace(PREFIX), InternetSeal.TABLE).get(InternetSeal.Drop.NOT_PUBLIC.counter())).isPositive();
            // Nor does a public instance reach the underlay through its gateway.
            assertThat(publicToRouterVtep.get()).isFalse();
        }

        // The instance's resolver is the VPC's, at base + 2.
        assertThat(Files.readString(state.resolve(WEB.id() + ".log"))).contains("nameserver 10.8.0.2");

        // Detached: no link, no mapping, no way out.
        fabric.apply(state(vpc(null, dns)));
        assertThat(hasLink(ROUTER, InternetRouter.VPC_LINK)).isFalse();
        assertThat(Commands.check(Duration.ofSeconds(5), Namespaces.ipIn(LabFabric.internetNamespace(PREFIX), "-o", "link", "show")).stdout())
                .doesNotContain(InternetRouter.peerName(VPC_ID));
        assertThat(curl(PREFIX + WEB.id(), "http://" + Internet.HOST + "/whoami").ok()).isFalse();

        // Gone: nothing of it is left.
        fabric.apply(new FabricState(List.of(), List.of()));
        assertThat(Namespaces.list()).noneMatch(n -> n.startsWith(PREFIX));
    }

    @Test
    @Timeout(180)
    void shouldAnswerTheVpcsNamesAtBasePlusTwoAndTheInternetsOnlyWithAWayOut() throws Exception {
        String client = PREFIX + SEALED.id();
        String resolver = "10.8.0.2";
        Duration wait = Duration.ofSeconds(3);
        fabric.apply(state(vpc("igw-00000000000000001", new FabricState.Dns(true, true, "ec2.internal"))));

        assertThat(DnsClient.ask(client, resolver, "ip-10-8-1-5.ec2.internal", wait)).isEqualTo(new DnsClient.Reply(true, Answers.Rcodes.NOERROR, "10.8.1.5"));
        assertThat(DnsClient.ask(client, resolver, "ec2-198-51-100-4.compute-1.amazonaws.com", wait).address()).isEqualTo(WEB.ip());
        assertThat(DnsClient.ask(client, resolver, Internet.WHOAMI_NAME, wait).address()).isEqualTo(Internet.HOST);
        assertThat(DnsClient.ask(client, resolver, "ip-10-8-9-9.ec2.internal", wait).rcode()).isEqualTo(Answers.Rcodes.NXDOMAIN);
        // The internet's own server and the service's resolver.
        assertThat(DnsClient.ask(LabFabric.internetHostsNamespace(PREFIX), Internet.DNS, Internet.WHOAMI_NAME, wait).address()).isEqualTo(Internet.HOST);
        assertThat(DnsClient.ask(LabFabric.internetHostsNamespace(PREFIX), Internet.DNS, "ip-10-8-1-5.ec2.internal", wait).rcode())
                .isEqualTo(Answers.Rcodes.REFUSED);
        assertThat(DnsClient.ask(LabFabric.internetNamespace(PREFIX), Internet.SERVICE_RESOLVER, Internet.WHOAMI_NAME, wait).address())
                .isEqualTo(Internet.HOST);

        // Without a gateway, no way to the internet's names; without hostnames, no public names.
        fabric.apply(state(vpc(null, new FabricState.Dns(true, false, "ec2.internal"))));
        assertThat(DnsClient.ask(client, resolver, Internet.WHOAMI_NAME, wait).rcode()).isEqualTo(Answers.Rcodes.SERVFAIL);
        assertThat(DnsClient.ask(client, resolver, "ec2-198-51-100-4.compute-1.amazonaws.com", wait).address()).isNull();
        assertThat(DnsClient.ask(client, resolver, "ip-10-8-1-4.ec2.internal", wait).address()).isEqualTo(WEB.ip());

        // DNS support off: nothing answers at base + 2.
        fabric.apply(state(vpc(null, new FabricState.Dns(false, false, "ec2.internal"))));
        assertThat(DnsClient.ask(client, resolver, "ip-10-8-1-4.ec2.internal", Duration.ofSeconds(1)).answered()).isFalse();
    }

    /**
     * A real deployment's uplink, played by a namespace of the test's: the internet router takes a
     * veth whose far end holds 203.0.113.10 (a whoami server) and routes the Elastic IPs back.
     */
    @Test
    @Timeout(180)
    void shouldGoOutThroughAnUplinkInsteadOfTheSimulatedHosts() throws Exception {
        String upstream = PREFIX + "upstream";
        Namespaces.add(upstream);
        LabFabric uplinked = null;
        try {
            Commands.check(Namespaces.ipIn(upstream, "link", "add", "hp-upl0", "type", "veth", "peer", "name", "hp-far"));
            Commands.check(Namespaces.ipIn(upstream, "link", "set", "lo", "up"));
            Commands.check(Namespaces.ipIn(upstream, "address", "add", Internet.HOST + "/24", "dev", "hp-far"));
            Commands.check(Namespaces.ipIn(upstream, "link", "set", "hp-far", "up"));
            Commands.check(Namespaces.ipIn(upstream, "route", "add", Internet.ELASTIC_IPS.toString(), "via", Internet.HOSTS_ROUTER));
            fabric.close();
            uplinked = new LabFabric(state, PREFIX, new Outside.Uplink("hp-upl0", upstream, Internet.HOSTS_ROUTER + "/24", Internet.HOST),
                    line -> System.out.println("  " + line));
            fabric = uplinked;
            try (ServiceHost whoami = NetworkNamespace.call(upstream, () -> ServiceHost.bind(InetAddress.getByName(Internet.HOST),
                    List.of(new ServiceHost.Listener(ServiceHost.Kind.HTTP, 80))))) {
                whoami.start();
                uplinked.apply(state(vpc("igw-00000000000000001", FabricState.Dns.DEFAULT)));

                assertThat(Namespaces.list()).doesNotContain(LabFabric.internetHostsNamespace(PREFIX));
                ExecResult out = curl(PREFIX + WEB.id(), "http://" + Internet.HOST + "/whoami");
                assertThat(out.ok()).as(out.stderr()).isTrue();
                assertThat(out.stdout()).startsWith(WEB_PUBLIC_IP + ":");
                await().atMost(Duration.ofSeconds(30)).until(() -> curl(upstream, "http://" + WEB_PUBLIC_IP + ":8080/").ok());
                assertThat(ping(upstream, SEALED.ip())).isFalse();
            }
        } finally {
            Namespaces.delete(upstream);
        }
    }

    /**
     * The service egress subnet as a forwarder node sees it: a namespace of the test's plays the node
     * (a kernel VXLAN device, VNI 1000, to the internet router's VTEP, holding 192.0.2.10), registered
     * as a forwarder node. It reaches the internet host, which sees 192.0.2.10, and the service
     * resolver; nothing private.
     */
    @Test
    @Timeout(180)
    void shouldCarryTheServiceEgressSubnetToTheInternetFromARegisteredNode() throws Exception {
        String node = PREFIX + "node";
        String nodeIp = "198.18.0.1";
        fabric.pinUnderlay();
        fabric.apply(new FabricState(List.of(), List.of(nodeIp)));
        Namespaces.add(node);
        try {
            String underlay = LabFabric.underlayNamespace(PREFIX);
            Commands.check(Namespaces.ipIn(node, "link", "add", "hp-ul0", "mtu", "1600", "type", "veth", "peer", "name", "hp-unode", "netns", underlay));
            Commands.check(Namespaces.ipIn(underlay, "link", "set", "hp-unode", "master", "hp-ul", "up"));
            Commands.check(Namespaces.ipIn(node, "address", "add", nodeIp + "/15", "dev", "hp-ul0"));
            Commands.check(Namespaces.ipIn(node, "link", "set", "hp-ul0", "up"));
            Commands.check(Namespaces.ipIn(node, "link", "set", "lo", "up"));
            // The fleet's anycast address, where the router's tunnel sends (its VXLAN socket listens on every address).
            Commands.check(Namespaces.ipIn(node, "address", "add", FleetPlan.ANYCAST + "/32", "dev", "lo"));
            Commands.check(Namespaces.ipIn(node, "link", "add", "hp-vx1000", "type", "vxlan", "id", "1000", "local", nodeIp,
                    "remote", Internet.ROUTER_VTEP, "dstport", "4789", "dev", "hp-ul0"));
            Commands.check(Namespaces.ipIn(node, "link", "set", "hp-vx1000", "mtu", "1500", "up"));
            Commands.check(Namespaces.ipIn(node, "address", "add", Internet.SERVICE_EGRESS_ADDRESS + "/24", "dev", "hp-vx1000"));
            Commands.check(Namespaces.ipIn(node, "route", "add", "default", "via", Internet.SERVICE_EGRESS_ROUTER));

            ExecResult whoami = curl(node, "http://" + Internet.HOST + "/whoami");
            assertThat(whoami.ok()).as(whoami.stderr()).isTrue();
            assertThat(whoami.stdout()).startsWith(Internet.SERVICE_EGRESS_ADDRESS + ":");
            assertThat(DnsClient.ask(node, Internet.SERVICE_RESOLVER, Internet.WHOAMI_NAME, Duration.ofSeconds(3)).address()).isEqualTo(Internet.HOST);
            // The internet router has no way toward a private range, whatever the node sends it (and its seal would drop it).
            assertThat(ping(node, "10.0.0.1")).isFalse();

            // A node that is not registered is not heard.
            fabric.apply(new FabricState(List.of(), List.of("198.18.0.2")));
            assertThat(curl(node, "http://" + Internet.HOST + "/whoami").ok()).isFalse();
        } finally {
            Namespaces.delete(node);
        }
    }

    private static boolean hasLink(String ns, String device) {
        return Commands.run(Duration.ofSeconds(5), Namespaces.ipIn(ns, "link", "show", "dev", device)).ok();
    }

    private static ExecResult curl(String ns, String url) {
        return Commands.run(Duration.ofSeconds(10), Namespaces.execIn(ns, List.of("curl", "-sS", "--max-time", "3", url)));
    }

    private static boolean ping(String ns, String ip) {
        return Commands.run(Duration.ofSeconds(5), Namespaces.execIn(ns, List.of("ping", "-n", "-c", "1", "-W", "1", ip))).ok();
    }

    /** A table's named counters and their packets. */
    static Map<String, Long> counters(String ns, String table) throws Exception {
        String json = Commands.check(Duration.ofSeconds(5), Namespaces.execIn(ns, List.of("nft", "-j", "list", "table", "inet", table))).stdout();
        Map<String, Long> counters = new HashMap<>();
        for (JsonNode item : new ObjectMapper().readTree(json).path("nftables")) {
            if (item.path("counter").isObject()) {
                counters.put(item.path("counter").path("name").asText(), item.path("counter").path("packets").asLong());
            }
        }
        return counters;
    }
}
