package io.hyperplane.control.ec2;

import io.hyperplane.config.NodeSnapshot;
import io.hyperplane.config.fabric.Fabric;
import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.FabricState.RouteTarget;
import io.hyperplane.control.server.ControlPlaneServer;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Sql;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.sigv4.Credential;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Address;
import software.amazon.awssdk.services.ec2.model.AllocateAddressResponse;
import software.amazon.awssdk.services.ec2.model.DomainType;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.InternetGateway;
import software.amazon.awssdk.services.ec2.model.NatGateway;
import software.amazon.awssdk.services.ec2.model.NatGatewayAddress;
import software.amazon.awssdk.services.ec2.model.NetworkInterface;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.Route;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;
import software.amazon.awssdk.services.ec2.model.VpcAttributeName;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The way out in the EC2 API (issue 16): internet gateways, Elastic IPs, NAT gateways and their
 * lifecycle on the forwarder nodes, routes to them, instances' public addresses and the VPC's DNS
 * attributes, as the AWS SDK calls them; and what the fabric and the nodes are told. Run on
 * embedded H2 ({@link WayOutApiH2Test}) and PostgreSQL ({@link WayOutApiPostgresTest}).
 */
@Timeout(60)
abstract class WayOutApiContract {
    @TempDir
    Path dir;
    private ControlPlaneServer server;
    private final List<Ec2Client> clients = new ArrayList<>();
    private Ec2Client ec2;
    private final HttpClient http = HttpClient.newHttpClient();
    /** What the fabric was last asked to make. */
    private volatile FabricState applied;

    abstract ControlPlaneServer.Settings settings(Path dataDir) throws Exception;

    private ControlPlaneServer.Settings settings;

    @BeforeEach
    void start() throws Exception {
        settings = settings(dir);
        server = ControlPlaneServer.start(settings, desired -> {
            applied = desired;
            return Fabric.NONE.apply(desired);
        });
        ec2 = client(server.defaultCredential());
    }

    @AfterEach
    void stop() {
        clients.forEach(Ec2Client::close);
        if (server != null) {
            server.close();
        }
    }

    private Ec2Client client(Credential c) {
        Ec2Client client = Ec2Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())))
                .httpClient(UrlConnectionHttpClient.create()).build();
        clients.add(client);
        return client;
    }

    private static Ec2Exception error(Executable call) {
        return catchThrowableOfType(Ec2Exception.class, () -> call.execute());
    }

    private static String code(Executable call) {
        Ec2Exception e = error(call);
        assertThat(e).as("an EC2 error").isNotNull();
        return e.awsErrorDetails().errorCode();
    }

    private static Filter filter(String name, String... values) {
        return Filter.builder().name(name).values(values).build();
    }

    private String vpc(String cidr) {
        return ec2.createVpc(b -> b.cidrBlock(cidr)).vpc().vpcId();
    }

    private String subnet(String vpc, String cidr) {
        return ec2.createSubnet(b -> b.vpcId(vpc).cidrBlock(cidr)).subnet().subnetId();
    }

    private String attachedGateway(String vpc) {
        String igw = ec2.createInternetGateway(b -> { }).internetGateway().internetGatewayId();
        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        return igw;
    }

    private Instance run(String subnet) {
        return ec2.runInstances(b -> b.imageId("ami-1").minCount(1).maxCount(1).subnetId(subnet)).instances().getFirst();
    }

    private Instance describe(String instanceId) {
        return ec2.describeInstances(b -> b.instanceIds(instanceId)).reservations().getFirst().instances().getFirst();
    }

    private NatGateway nat(String id) {
        return ec2.describeNatGateways(b -> b.natGatewayIds(id)).natGateways().getFirst();
    }

    private Route route(String table, String destination) {
        return ec2.describeRouteTables(b -> b.routeTableIds(table)).routeTables().getFirst().routes().stream()
                .filter(r -> r.destinationCidrBlock().equals(destination)).findFirst().orElseThrow();
    }

    private String mainTable(String vpc) {
        return ec2.describeRouteTables(b -> b.filters(filter("vpc-id", vpc), filter("association.main", "true"))).routeTables().getFirst()
                .routeTableId();
    }

    /** A forwarder node's heartbeat: it runs {@code version}. */
    private void heartbeat(String node, long version) {
        HttpRequest request = HttpRequest.newBuilder(server.endpoint().resolve(URI.create("/hyperplane/v1/nodes/" + node)))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + server.nodeToken())
                .PUT(HttpRequest.BodyPublishers.ofString("{\"underlayIp\":\"198.18.0.9\",\"port\":4789,\"appliedVersion\":" + version
                        + ",\"enis\":[]}")).build();
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isBetween(200, 299);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The nodes' configuration as of every change committed so far. */
    private NodeSnapshot published() {
        return server.nodeConfig().refresh().join().snapshot();
    }

    /** Publishes what the store has, lets node n1 apply it, and runs a NAT gateway round. */
    private void nodesApply() {
        long version = server.nodeConfig().refresh().join().version();
        heartbeat("n1", version);
        server.natGateways().reconcileOnce();
    }

    private FabricState.VpcNetwork fabricVpc(String vpc) {
        server.syncFabric();
        return applied.vpcs().stream().filter(v -> v.id().equals(vpc)).findFirst().orElseThrow();
    }

    // ---- internet gateways

    @Test
    void shouldCreateAttachDetachAndDeleteAnInternetGateway() {
        String vpc = vpc("10.0.0.0/16");
        InternetGateway created = ec2.createInternetGateway(b -> b.tagSpecifications(TagSpecification.builder()
                .resourceType(ResourceType.INTERNET_GATEWAY).tags(Tag.builder().key("Name").value("way-out").build()).build())).internetGateway();
        String igw = created.internetGatewayId();
        assertThat(igw).matches("igw-[0-9a-f]{17}");
        assertThat(created.attachments()).isEmpty();
        assertThat(created.ownerId()).isEqualTo(server.defaultCredential().accountId());

        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        InternetGateway attached = ec2.describeInternetGateways(b -> b.filters(filter("attachment.vpc-id", vpc))).internetGateways().getFirst();
        assertThat(attached.internetGatewayId()).isEqualTo(igw);
        assertThat(attached.attachments().getFirst().vpcId()).isEqualTo(vpc);
        assertThat(attached.attachments().getFirst().stateAsString()).isEqualTo("available");
        assertThat(ec2.describeInternetGateways(b -> b.filters(filter("tag:Name", "way-out"))).internetGateways()).hasSize(1);
        assertThat(fabricVpc(vpc).internetGateway()).isEqualTo(igw);

        String other = ec2.createInternetGateway(b -> { }).internetGateway().internetGatewayId();
        String vpc2 = vpc("10.1.0.0/16");
        assertThat(code(() -> ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc2)))).isEqualTo("Resource.AlreadyAssociated");
        assertThat(code(() -> ec2.attachInternetGateway(b -> b.internetGatewayId(other).vpcId(vpc)))).isEqualTo("Resource.AlreadyAssociated");
        Ec2Exception attachedDelete = error(() -> ec2.deleteInternetGateway(b -> b.internetGatewayId(igw)));
        assertThat(attachedDelete.awsErrorDetails().errorCode()).isEqualTo("DependencyViolation");
        assertThat(attachedDelete.awsErrorDetails().errorMessage()).isEqualTo("The internetGateway '" + igw + "' has dependencies and cannot be deleted.");
        assertThat(code(() -> ec2.deleteVpc(b -> b.vpcId(vpc)))).isEqualTo("DependencyViolation");
        assertThat(code(() -> ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc2)))).isEqualTo("Gateway.NotAttached");
        assertThat(code(() -> ec2.describeInternetGateways(b -> b.internetGatewayIds("igw-0123456789abcdef0"))))
                .isEqualTo("InvalidInternetGatewayID.NotFound");
        assertThat(code(() -> client(server.accounts().create()).attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc))))
                .as("another account's gateway is unknown").isEqualTo("InvalidInternetGatewayID.NotFound");

        ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        assertThat(fabricVpc(vpc).internetGateway()).isNull();
        ec2.deleteInternetGateway(b -> b.internetGatewayId(igw));
        ec2.deleteInternetGateway(b -> b.internetGatewayId(other));
        ec2.deleteVpc(b -> b.vpcId(vpc));
        assertThat(ec2.describeInternetGateways().internetGateways()).isEmpty();
    }

    // ---- Elastic IPs

    @Test
    void shouldAllocateElasticIpsFromOnePublicRangeWithinTheQuota() {
        Set<String> seen = new HashSet<>();
        List<String> allocations = new ArrayList<>();
        for (int i = 0; i < Ec2Quotas.ELASTIC_IPS; i++) {
            AllocateAddressResponse a = ec2.allocateAddress(b -> b.domain(DomainType.VPC));
            assertThat(a.allocationId()).matches("eipalloc-[0-9a-f]{17}");
            assertThat(a.domain()).isEqualTo(DomainType.VPC);
            assertThat(a.publicIpv4Pool()).isEqualTo("amazon");
            assertThat(a.networkBorderGroup()).isEqualTo("us-east-1");
            int ip = Ipv4Address.parse(a.publicIp());
            assertThat(Internet.ELASTIC_IPS.contains(ip)).as(a.publicIp()).isTrue();
            assertThat(ip & 0xff).as("never the network, router or broadcast address").isNotIn(0, 1, 255);
            assertThat(seen.add(a.publicIp())).isTrue();
            allocations.add(a.allocationId());
        }
        Ec2Exception limit = error(() -> ec2.allocateAddress(b -> b.domain(DomainType.VPC)));
        assertThat(limit.awsErrorDetails().errorCode()).isEqualTo("AddressLimitExceeded");

        Ec2Client other = client(server.accounts().create());
        String theirs = other.allocateAddress(b -> b.domain(DomainType.VPC)).publicIp();
        assertThat(seen).as("one range for every account").doesNotContain(theirs);
        assertThat(other.describeAddresses().addresses()).extracting(Address::publicIp).containsExactly(theirs);
        assertThat(code(() -> other.releaseAddress(b -> b.allocationId(allocations.getFirst())))).isEqualTo("InvalidAllocationID.NotFound");

        assertThat(ec2.describeAddresses(b -> b.allocationIds(allocations.get(1))).addresses()).extracting(Address::allocationId)
                .containsExactly(allocations.get(1));
        assertThat(ec2.describeAddresses(b -> b.filters(filter("allocation-id", allocations.get(2)))).addresses()).hasSize(1);
        assertThat(code(() -> ec2.describeAddresses(b -> b.allocationIds("eipalloc-0123456789abcdef0")))).isEqualTo("InvalidAllocationID.NotFound");
        ec2.releaseAddress(b -> b.allocationId(allocations.getFirst()));
        assertThat(ec2.allocateAddress(b -> b.domain(DomainType.VPC)).allocationId()).as("a released address frees the quota").isNotNull();
        assertThat(code(() -> ec2.releaseAddress(b -> b.allocationId(allocations.getFirst())))).isEqualTo("InvalidAllocationID.NotFound");
    }

    @Test
    void shouldAssociateElasticIpsWithInstancesOnlyInAVpcWithAGateway() {
        String vpc = vpc("10.0.0.0/16");
        String subnet = subnet(vpc, "10.0.1.0/24");
        Instance a = run(subnet);
        Instance b = run(subnet);
        AllocateAddressResponse eip = ec2.allocateAddress(r -> r.domain(DomainType.VPC));

        Ec2Exception noGateway = error(() -> ec2.associateAddress(r -> r.allocationId(eip.allocationId()).instanceId(a.instanceId())));
        assertThat(noGateway.awsErrorDetails().errorCode()).isEqualTo("Gateway.NotAttached");
        assertThat(noGateway.awsErrorDetails().errorMessage()).isEqualTo("Network " + vpc + " is not attached to any internet gateway");

        String igw = attachedGateway(vpc);
        String association = ec2.associateAddress(r -> r.allocationId(eip.allocationId()).instanceId(a.instanceId())).associationId();
        assertThat(association).matches("eipassoc-[0-9a-f]{17}");
        Address described = ec2.describeAddresses(r -> r.publicIps(eip.publicIp())).addresses().getFirst();
        assertThat(described.associationId()).isEqualTo(association);
        assertThat(described.instanceId()).isEqualTo(a.instanceId());
        assertThat(described.privateIpAddress()).isEqualTo(a.privateIpAddress());
        assertThat(described.domain()).isEqualTo(DomainType.VPC);
        Instance withEip = describe(a.instanceId());
        assertThat(withEip.publicIpAddress()).isEqualTo(eip.publicIp());
        assertThat(withEip.networkInterfaces().getFirst().association().publicIp()).isEqualTo(eip.publicIp());
        assertThat(fabricVpc(vpc).publicAddresses()).containsExactly(new FabricState.PublicAddress(a.privateIpAddress(), eip.publicIp()));

        assertThat(code(() -> ec2.releaseAddress(r -> r.allocationId(eip.allocationId())))).isEqualTo("InvalidIPAddress.InUse");
        assertThat(code(() -> ec2.associateAddress(r -> r.allocationId(eip.allocationId()).instanceId(b.instanceId()))))
                .isEqualTo("Resource.AlreadyAssociated");
        Ec2Exception mapped = error(() -> ec2.detachInternetGateway(r -> r.internetGatewayId(igw).vpcId(vpc)));
        assertThat(mapped.awsErrorDetails().errorCode()).isEqualTo("DependencyViolation");
        assertThat(mapped.awsErrorDetails().errorMessage()).isEqualTo("Network " + vpc
                + " has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.");

        String moved = ec2.associateAddress(r -> r.allocationId(eip.allocationId()).allowReassociation(true)
                .networkInterfaceId(describe(b.instanceId()).networkInterfaces().getFirst().networkInterfaceId())).associationId();
        assertThat(describe(a.instanceId()).publicIpAddress()).isNull();
        assertThat(describe(b.instanceId()).publicIpAddress()).isEqualTo(eip.publicIp());
        assertThat(code(() -> ec2.disassociateAddress(r -> r.associationId(association)))).isEqualTo("InvalidAssociationID.NotFound");
        ec2.disassociateAddress(r -> r.associationId(moved));
        assertThat(ec2.describeAddresses().addresses().getFirst().associationId()).isNull();

        // The right order: nothing mapped, then the gateway goes, then the VPC.
        ec2.releaseAddress(r -> r.allocationId(eip.allocationId()));
        ec2.terminateInstances(r -> r.instanceIds(a.instanceId(), b.instanceId()));
        server.syncFabric();
        ec2.detachInternetGateway(r -> r.internetGatewayId(igw).vpcId(vpc));
        ec2.deleteInternetGateway(r -> r.internetGatewayId(igw));
        ec2.deleteSubnet(r -> r.subnetId(subnet));
        ec2.deleteVpc(r -> r.vpcId(vpc));
    }

    @Test
    void shouldDisassociateAnInstancesElasticIpWhenItTerminates() {
        String vpc = vpc("10.0.0.0/16");
        String subnet = subnet(vpc, "10.0.1.0/24");
        attachedGateway(vpc);
        Instance a = run(subnet);
        String allocation = ec2.allocateAddress(r -> r.domain(DomainType.VPC)).allocationId();
        ec2.associateAddress(r -> r.allocationId(allocation).instanceId(a.instanceId()));
        ec2.terminateInstances(r -> r.instanceIds(a.instanceId()));
        assertThat(ec2.describeAddresses().addresses().getFirst().associationId()).isNull();
        assertThat(fabricVpc(vpc).publicAddresses()).isEmpty();
        ec2.releaseAddress(r -> r.allocationId(allocation));
    }

    // ---- instances' public addresses

    @Test
    void shouldGiveInstancesPublicIpsAsTheSubnetOrTheRequestSays() {
        String vpc = vpc("10.0.0.0/16");
        String mapping = subnet(vpc, "10.0.1.0/24");
        String plain = subnet(vpc, "10.0.2.0/24");
        ec2.modifySubnetAttribute(b -> b.subnetId(mapping).mapPublicIpOnLaunch(v -> v.value(true)));
        assertThat(ec2.describeSubnets(b -> b.subnetIds(mapping)).subnets().getFirst().mapPublicIpOnLaunch()).isTrue();
        assertThat(ec2.describeSubnets(b -> b.subnetIds(plain)).subnets().getFirst().mapPublicIpOnLaunch()).isFalse();

        Instance mapped = run(mapping);
        Instance unmapped = run(plain);
        Instance asked = ec2.runInstances(b -> b.imageId("ami-1").minCount(1).maxCount(1)
                .networkInterfaces(n -> n.deviceIndex(0).subnetId(plain).associatePublicIpAddress(true))).instances().getFirst();
        Instance declined = ec2.runInstances(b -> b.imageId("ami-1").minCount(1).maxCount(1)
                .networkInterfaces(n -> n.deviceIndex(0).subnetId(mapping).associatePublicIpAddress(false))).instances().getFirst();

        assertThat(mapped.publicIpAddress()).as("assigned without a gateway, as on EC2").isNotNull();
        assertThat(Internet.ELASTIC_IPS.contains(Ipv4Address.parse(mapped.publicIpAddress()))).isTrue();
        assertThat(mapped.networkInterfaces().getFirst().association().publicIp()).isEqualTo(mapped.publicIpAddress());
        assertThat(mapped.networkInterfaces().getFirst().association().ipOwnerId()).isEqualTo("amazon");
        assertThat(unmapped.publicIpAddress()).isNull();
        assertThat(asked.publicIpAddress()).isNotNull().isNotEqualTo(mapped.publicIpAddress());
        assertThat(declined.publicIpAddress()).isNull();
        assertThat(ec2.describeInstances(b -> b.filters(filter("ip-address", mapped.publicIpAddress()))).reservations()).hasSize(1);
        assertThat(fabricVpc(vpc).publicAddresses()).as("nothing is mapped without a gateway").isEmpty();

        String igw = attachedGateway(vpc);
        assertThat(fabricVpc(vpc).publicAddresses()).containsExactlyInAnyOrder(
                new FabricState.PublicAddress(mapped.privateIpAddress(), mapped.publicIpAddress()),
                new FabricState.PublicAddress(asked.privateIpAddress(), asked.publicIpAddress()));
        assertThat(code(() -> ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc)))).isEqualTo("DependencyViolation");

        ec2.terminateInstances(b -> b.instanceIds(mapped.instanceId(), asked.instanceId()));
        assertThat(describe(mapped.instanceId()).publicIpAddress()).as("released at termination").isNull();
        ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
    }

    // ---- VPC attributes

    @Test
    void shouldModifyAndDescribeTheVpcsDnsAttributesOneAtATime() {
        String vpc = vpc("10.0.0.0/16");
        assertThat(ec2.describeVpcAttribute(b -> b.vpcId(vpc).attribute(VpcAttributeName.ENABLE_DNS_SUPPORT)).enableDnsSupport().value()).isTrue();
        assertThat(ec2.describeVpcAttribute(b -> b.vpcId(vpc).attribute(VpcAttributeName.ENABLE_DNS_HOSTNAMES)).enableDnsHostnames().value()).isFalse();
        assertThat(fabricVpc(vpc).dns()).isEqualTo(new FabricState.Dns(true, false, "ec2.internal"));

        ec2.modifyVpcAttribute(b -> b.vpcId(vpc).enableDnsHostnames(v -> v.value(true)));
        ec2.modifyVpcAttribute(b -> b.vpcId(vpc).enableDnsSupport(v -> v.value(false)));
        assertThat(ec2.describeVpcAttribute(b -> b.vpcId(vpc).attribute(VpcAttributeName.ENABLE_DNS_HOSTNAMES)).enableDnsHostnames().value()).isTrue();
        assertThat(ec2.describeVpcAttribute(b -> b.vpcId(vpc).attribute(VpcAttributeName.ENABLE_DNS_SUPPORT)).enableDnsSupport().value()).isFalse();
        assertThat(fabricVpc(vpc).dns()).isEqualTo(new FabricState.Dns(false, true, "ec2.internal"));

        assertThat(code(() -> ec2.modifyVpcAttribute(b -> b.vpcId(vpc).enableDnsSupport(v -> v.value(true)).enableDnsHostnames(v -> v.value(true)))))
                .isEqualTo("InvalidParameterCombination");
        assertThat(code(() -> ec2.describeVpcAttribute(b -> b.vpcId("vpc-0123456789abcdef0").attribute(VpcAttributeName.ENABLE_DNS_SUPPORT))))
                .isEqualTo("InvalidVpcID.NotFound");
    }

    // ---- routes

    @Test
    void shouldRouteToAttachedGatewaysAndShowDetachedOnesAsBlackholes() {
        String vpc = vpc("10.0.0.0/16");
        String other = vpc("10.1.0.0/16");
        String subnet = subnet(vpc, "10.0.1.0/24");
        String table = ec2.createRouteTable(b -> b.vpcId(vpc)).routeTable().routeTableId();
        ec2.associateRouteTable(b -> b.routeTableId(table).subnetId(subnet));
        String igw = ec2.createInternetGateway(b -> { }).internetGateway().internetGatewayId();
        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(other));

        Ec2Exception wrongNetwork = error(() -> ec2.createRoute(b -> b.routeTableId(table).destinationCidrBlock("0.0.0.0/0").gatewayId(igw)));
        assertThat(wrongNetwork.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValue");
        assertThat(wrongNetwork.awsErrorDetails().errorMessage()).isEqualTo("route table " + table + " and network gateway " + igw
                + " belong to different networks");
        assertThat(code(() -> ec2.createRoute(b -> b.routeTableId(table).destinationCidrBlock("0.0.0.0/0").gatewayId("igw-0123456789abcdef0"))))
                .isEqualTo("InvalidInternetGatewayID.NotFound");
        assertThat(code(() -> ec2.createRoute(b -> b.routeTableId(table).destinationCidrBlock("0.0.0.0/0").natGatewayId("nat-0123456789abcdef0"))))
                .isEqualTo("InvalidNatGatewayID.NotFound");
        assertThat(code(() -> ec2.replaceRoute(b -> b.routeTableId(table).destinationCidrBlock("0.0.0.0/0").gatewayId(igw))))
                .isEqualTo("InvalidRoute.NotFound");

        ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(other));
        ec2.attachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        ec2.createRoute(b -> b.routeTableId(table).destinationCidrBlock("0.0.0.0/0").gatewayId(igw));
        assertThat(route(table, "0.0.0.0/0").gatewayId()).isEqualTo(igw);
        assertThat(route(table, "0.0.0.0/0").stateAsString()).isEqualTo("active");
        FabricState.SubnetNetwork routed = fabricVpc(vpc).subnets().getFirst();
        assertThat(routed.routes()).containsExactlyInAnyOrder(new FabricState.Route("10.0.0.0/16", RouteTarget.LOCAL, null),
                new FabricState.Route("0.0.0.0/0", RouteTarget.INTERNET_GATEWAY, null));

        ec2.detachInternetGateway(b -> b.internetGatewayId(igw).vpcId(vpc));
        assertThat(route(table, "0.0.0.0/0").stateAsString()).isEqualTo("blackhole");
        assertThat(fabricVpc(vpc).subnets().getFirst().routes()).contains(new FabricState.Route("0.0.0.0/0", RouteTarget.BLACKHOLE, null));
        assertThat(code(() -> ec2.replaceRoute(b -> b.routeTableId(table).destinationCidrBlock("10.0.0.0/16").gatewayId(igw))))
                .isEqualTo("InvalidParameterValue");

        // Moving the subnet back to the main table (no default route) takes its way out away.
        String association = ec2.describeRouteTables(b -> b.routeTableIds(table)).routeTables().getFirst().associations().getFirst()
                .routeTableAssociationId();
        String back = ec2.replaceRouteTableAssociation(b -> b.associationId(association).routeTableId(mainTable(vpc))).newAssociationId();
        assertThat(back).matches("rtbassoc-[0-9a-f]{17}");
        assertThat(fabricVpc(vpc).subnets().getFirst().routes()).containsExactly(new FabricState.Route("10.0.0.0/16", RouteTarget.LOCAL, null));
        ec2.deleteInternetGateway(b -> b.internetGatewayId(igw));
        assertThat(route(table, "0.0.0.0/0").stateAsString()).as("a deleted gateway's route").isEqualTo("blackhole");
    }

    // ---- NAT gateways

    /** A VPC with a public subnet (default route to an attached gateway) and a private one (main table). */
    private record Network(String vpc, String igw, String publicSubnet, String privateSubnet, String publicTable) {
    }

    private Network network() {
        String vpc = vpc("10.0.0.0/16");
        String igw = attachedGateway(vpc);
        String publicSubnet = subnet(vpc, "10.0.1.0/24");
        String privateSubnet = subnet(vpc, "10.0.2.0/24");
        String table = ec2.createRouteTable(b -> b.vpcId(vpc)).routeTable().routeTableId();
        ec2.createRoute(b -> b.routeTableId(table).destinationCidrBlock("0.0.0.0/0").gatewayId(igw));
        ec2.associateRouteTable(b -> b.routeTableId(table).subnetId(publicSubnet));
        return new Network(vpc, igw, publicSubnet, privateSubnet, table);
    }

    @Test
    void shouldFailPublicNatGatewaysWithEc2sFailureCodes() {
        String vpc = vpc("10.0.0.0/16");
        String subnet = subnet(vpc, "10.0.1.0/24");
        String allocation = ec2.allocateAddress(b -> b.domain(DomainType.VPC)).allocationId();

        NatGateway noGateway = ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(allocation)).natGateway();
        assertThat(noGateway.natGatewayId()).matches("nat-[0-9a-f]{17}");
        assertThat(nat(noGateway.natGatewayId()).stateAsString()).isEqualTo("failed");
        assertThat(nat(noGateway.natGatewayId()).failureCode()).isEqualTo("Gateway.NotAttached");
        assertThat(nat(noGateway.natGatewayId()).failureMessage()).isEqualTo("Network " + vpc + " has no Internet gateway attached");
        assertThat(ec2.describeAddresses().addresses().getFirst().associationId()).as("a failed gateway holds no address").isNull();

        attachedGateway(vpc);
        NatGateway missing = ec2.createNatGateway(b -> b.subnetId(subnet).allocationId("eipalloc-0123456789abcdef0")).natGateway();
        assertThat(missing.failureCode()).isEqualTo("InvalidAllocationID.NotFound");

        String instance = run(subnet).instanceId();
        ec2.associateAddress(b -> b.allocationId(allocation).instanceId(instance));
        NatGateway inUse = ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(allocation)).natGateway();
        assertThat(inUse.failureCode()).isEqualTo("Resource.AlreadyAssociated");
        assertThat(inUse.failureMessage()).isEqualTo("Elastic IP address [" + allocation + "] is already associated");
        // A /28 has 11 addresses to give (AWS reserves five); instances take them all.
        String full = subnet(vpc, "10.0.9.0/28");
        ec2.runInstances(b -> b.imageId("ami-1").minCount(11).maxCount(11).subnetId(full));
        String second = ec2.allocateAddress(b -> b.domain(DomainType.VPC)).allocationId();
        NatGateway noRoom = ec2.createNatGateway(b -> b.subnetId(full).allocationId(second)).natGateway();
        assertThat(noRoom.failureCode()).isEqualTo("InsufficientFreeAddressesInSubnet");
        assertThat(ec2.describeNatGateways(b -> b.filter(filter("state", "failed"))).natGateways()).hasSize(4);

        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(subnet)))).as("a public one needs an address").isEqualTo("MissingParameter");
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId("subnet-0123456789abcdef0").allocationId(allocation))))
                .isEqualTo("InvalidSubnetID.NotFound");
        assertThat(code(() -> ec2.describeNatGateways(b -> b.natGatewayIds("nat-0123456789abcdef0")))).isEqualTo("NatGatewayNotFound");
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(allocation).privateIpAddress("10.0.1.999"))))
                .isEqualTo("InvalidParameterValue");
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(allocation).privateIpAddress("10.0.1.1"))))
                .as("the subnet's router").isEqualTo("InvalidParameterValue");
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(subnet).allocationId(allocation).clientToken("t".repeat(65)))))
                .isEqualTo("InvalidParameterValue");
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(subnet).allocationId("eipalloc-" + "f".repeat(300)))))
                .isEqualTo("InvalidAllocationID.Malformed");
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(subnet).connectivityType("private").allocationId(allocation))))
                .isEqualTo("InvalidParameterCombination");
        ec2.deleteNatGateway(b -> b.natGatewayId(noGateway.natGatewayId()));
        assertThat(nat(noGateway.natGatewayId()).stateAsString()).as("a failed one is deleted at once").isEqualTo("deleted");
    }

    @Test
    void shouldMakeANatGatewayAvailableOnceEveryLiveNodeRunsIt() {
        Network n = network();
        AllocateAddressResponse eip = ec2.allocateAddress(b -> b.domain(DomainType.VPC));
        NatGateway created = ec2.createNatGateway(b -> b.subnetId(n.publicSubnet()).allocationId(eip.allocationId()).clientToken("token-1")
                .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.NATGATEWAY).tags(Tag.builder().key("Name").value("out").build())
                        .build())).natGateway();
        String id = created.natGatewayId();
        assertThat(created.stateAsString()).isEqualTo("pending");
        assertThat(created.connectivityTypeAsString()).isEqualTo("public");
        assertThat(created.vpcId()).isEqualTo(n.vpc());
        assertThat(created.subnetId()).isEqualTo(n.publicSubnet());
        NatGatewayAddress address = created.natGatewayAddresses().getFirst();
        assertThat(address.allocationId()).isEqualTo(eip.allocationId());
        assertThat(address.publicIp()).isEqualTo(eip.publicIp());
        assertThat(address.privateIp()).as("the subnet's first free address").isEqualTo("10.0.1.4");
        assertThat(address.networkInterfaceId()).matches("eni-[0-9a-f]{17}");
        assertThat(address.isPrimary()).isTrue();

        // Idempotency: the same token and request is the same gateway; the same token with another request is refused.
        assertThat(ec2.createNatGateway(b -> b.subnetId(n.publicSubnet()).allocationId(eip.allocationId()).clientToken("token-1"))
                .natGateway().natGatewayId()).isEqualTo(id);
        assertThat(code(() -> ec2.createNatGateway(b -> b.subnetId(n.privateSubnet()).allocationId(eip.allocationId()).clientToken("token-1"))))
                .isEqualTo("IdempotentParameterMismatch");

        // Its interface is listed, requester-managed, with its Elastic IP; only the gateway takes it away.
        NetworkInterface eni = ec2.describeNetworkInterfaces(b -> b.filters(filter("interface-type", "nat_gateway"))).networkInterfaces().getFirst();
        assertThat(eni.networkInterfaceId()).isEqualTo(address.networkInterfaceId());
        assertThat(eni.requesterManaged()).isTrue();
        assertThat(eni.privateIpAddress()).isEqualTo("10.0.1.4");
        assertThat(eni.association().publicIp()).isEqualTo(eip.publicIp());
        assertThat(eni.description()).isEqualTo("Interface for NAT Gateway " + id);
        assertThat(code(() -> ec2.deleteNetworkInterface(b -> b.networkInterfaceId(eni.networkInterfaceId())))).isEqualTo("InvalidParameterValue");

        // Its address is the service's now.
        Address eipNow = ec2.describeAddresses(b -> b.allocationIds(eip.allocationId())).addresses().getFirst();
        assertThat(eipNow.networkInterfaceId()).isEqualTo(address.networkInterfaceId());
        assertThat(eipNow.privateIpAddress()).isEqualTo("10.0.1.4");
        assertThat(code(() -> ec2.releaseAddress(b -> b.allocationId(eip.allocationId())))).isEqualTo("InvalidIPAddress.InUse");
        assertThat(code(() -> ec2.disassociateAddress(b -> b.associationId(eipNow.associationId())))).isEqualTo("AuthFailure");

        // The private subnet routes to it: a blackhole until it is available.
        ec2.createRoute(b -> b.routeTableId(mainTable(n.vpc())).destinationCidrBlock("0.0.0.0/0").natGatewayId(id));
        assertThat(route(mainTable(n.vpc()), "0.0.0.0/0").natGatewayId()).isEqualTo(id);
        assertThat(route(mainTable(n.vpc()), "0.0.0.0/0").stateAsString()).isEqualTo("blackhole");

        NodeSnapshot snapshot = published();
        NodeSnapshot.NatGateway carried = snapshot.natGateways().getFirst();
        assertThat(carried.id()).isEqualTo(id);
        assertThat(carried.ip()).isEqualTo("10.0.1.4");
        assertThat(carried.subnetId()).isEqualTo(n.publicSubnet());
        NodeSnapshot.Subnet natSubnet = snapshot.subnets().stream().filter(s -> s.id().equals(n.publicSubnet())).findFirst().orElseThrow();
        assertThat(snapshot.routeTables().stream().filter(t -> t.id().equals(natSubnet.routeTableId())).findFirst().orElseThrow().routes())
                .contains(new NodeSnapshot.Route("0.0.0.0/0", n.igw()));

        server.natGateways().reconcileOnce();
        assertThat(nat(id).stateAsString()).as("no live node carries it").isEqualTo("pending");
        heartbeat("n1", 0);
        server.natGateways().reconcileOnce();
        assertThat(nat(id).stateAsString()).as("a live node behind").isEqualTo("pending");

        nodesApply();
        NatGateway available = nat(id);
        assertThat(available.stateAsString()).isEqualTo("available");
        assertThat(available.natGatewayAddresses().getFirst().statusAsString()).isEqualTo("succeeded");
        assertThat(available.tags()).containsExactly(Tag.builder().key("Name").value("out").build());
        assertThat(route(mainTable(n.vpc()), "0.0.0.0/0").stateAsString()).isEqualTo("active");
        FabricState.VpcNetwork fabric = fabricVpc(n.vpc());
        assertThat(fabric.publicAddresses()).containsExactly(new FabricState.PublicAddress("10.0.1.4", eip.publicIp()));
        FabricState.SubnetNetwork privateSubnet = fabric.subnets().stream().filter(s -> s.id().equals(n.privateSubnet())).findFirst().orElseThrow();
        assertThat(privateSubnet.routes()).contains(new FabricState.Route("0.0.0.0/0", RouteTarget.NAT_GATEWAY, "10.0.1.4"));
        assertThat(ec2.describeNatGateways(b -> b.filter(filter("vpc-id", n.vpc()), filter("state", "available"))).natGateways())
                .extracting(NatGateway::natGatewayId).containsExactly(id);
        assertThat(ec2.describeNatGateways(b -> b.filter(filter("subnet-id", n.privateSubnet()))).natGateways()).isEmpty();
        assertThat(ec2.describeRouteTables(b -> b.filters(filter("route.nat-gateway-id", id), filter("route.state", "active"))).routeTables())
                .hasSize(1);

        // Another account sees none of it.
        Ec2Client other = client(server.accounts().create());
        assertThat(code(() -> other.describeNatGateways(b -> b.natGatewayIds(id)))).isEqualTo("NatGatewayNotFound");
        assertThat(code(() -> other.deleteNatGateway(b -> b.natGatewayId(id)))).isEqualTo("NatGatewayNotFound");
        assertThat(other.describeNatGateways().natGateways()).isEmpty();
        assertThat(other.describeNetworkInterfaces().networkInterfaces()).isEmpty();
        assertThat(code(() -> other.associateAddress(b -> b.allocationId(eip.allocationId()).networkInterfaceId(eni.networkInterfaceId()))))
                .isEqualTo("InvalidAllocationID.NotFound");
    }

    @Test
    void shouldFailANatGatewayTheNodesCannotTakeAloneWithAnInternalError() throws Exception {
        Network n = network();
        String good = ec2.createNatGateway(b -> b.subnetId(n.privateSubnet()).connectivityType("private")).natGateway().natGatewayId();
        String bad = ec2.createNatGateway(b -> b.subnetId(n.privateSubnet()).connectivityType("private")).natGateway().natGatewayId();
        // A store state no API call makes: the second gateway's address is the first's (DESIGN.md §9: it fails alone).
        try (Database db = settings.jdbcUrl() == null ? Database.open(server.databaseUrl(), "sa", "")
                : Database.open(server.databaseUrl(), settings.jdbcUser(), settings.jdbcPassword())) {
            db.inTransaction(c -> Sql.update(c, "UPDATE nat_gateways SET private_ip = (SELECT private_ip FROM nat_gateways WHERE id = ?) WHERE id = ?",
                    good, bad));
        }
        nodesApply();
        assertThat(published().natGateways()).extracting(NodeSnapshot.NatGateway::id).containsExactly(good);
        assertThat(nat(good).stateAsString()).isEqualTo("available");
        NatGateway failed = nat(bad);
        assertThat(failed.stateAsString()).isEqualTo("failed");
        assertThat(failed.failureCode()).isEqualTo("InternalError");
        assertThat(failed.failureMessage()).startsWith("Network interface eni-").contains("is in an invalid state").contains("is used by another eni");
    }

    @Test
    void shouldRefuseDeletingInTheWrongOrderAndLeaveNothingInTheRightOne() {
        Network n = network();
        String allocation = ec2.allocateAddress(b -> b.domain(DomainType.VPC)).allocationId();
        String id = ec2.createNatGateway(b -> b.subnetId(n.publicSubnet()).allocationId(allocation)).natGateway().natGatewayId();
        String privateNat = ec2.createNatGateway(b -> b.subnetId(n.privateSubnet()).connectivityType("private")).natGateway().natGatewayId();
        ec2.createRoute(b -> b.routeTableId(mainTable(n.vpc())).destinationCidrBlock("0.0.0.0/0").natGatewayId(id));
        nodesApply();
        assertThat(nat(id).stateAsString()).isEqualTo("available");
        assertThat(nat(privateNat).stateAsString()).isEqualTo("available");
        assertThat(nat(privateNat).natGatewayAddresses().getFirst().publicIp()).isNull();

        // The wrong order.
        assertThat(code(() -> ec2.deleteSubnet(b -> b.subnetId(n.publicSubnet())))).isEqualTo("DependencyViolation");
        assertThat(code(() -> ec2.detachInternetGateway(b -> b.internetGatewayId(n.igw()).vpcId(n.vpc())))).isEqualTo("DependencyViolation");
        assertThat(code(() -> ec2.deleteInternetGateway(b -> b.internetGatewayId(n.igw())))).isEqualTo("DependencyViolation");
        assertThat(code(() -> ec2.deleteVpc(b -> b.vpcId(n.vpc())))).isEqualTo("DependencyViolation");
        assertThat(code(() -> ec2.deleteNatGateway(b -> b.natGatewayId("nat-0123456789abcdef0")))).isEqualTo("NatGatewayNotFound");

        // The right order.
        assertThat(ec2.deleteNatGateway(b -> b.natGatewayId(id)).natGatewayId()).isEqualTo(id);
        ec2.deleteNatGateway(b -> b.natGatewayId(privateNat));
        assertThat(nat(id).stateAsString()).isEqualTo("deleting");
        assertThat(ec2.describeAddresses().addresses().getFirst().associationId()).as("its address is free at once").isNull();
        assertThat(route(mainTable(n.vpc()), "0.0.0.0/0").stateAsString()).isEqualTo("blackhole");
        nodesApply();
        assertThat(published().natGateways()).isEmpty();
        assertThat(ec2.describeNetworkInterfaces().networkInterfaces()).as("its interface is gone with it").isEmpty();
        NatGateway deleted = nat(id);
        assertThat(deleted.stateAsString()).isEqualTo("deleted");
        assertThat(deleted.deleteTime()).isNotNull();
        assertThat(fabricVpc(n.vpc()).subnets().stream().filter(s -> s.id().equals(n.privateSubnet())).findFirst().orElseThrow().routes())
                .contains(new FabricState.Route("0.0.0.0/0", RouteTarget.BLACKHOLE, null));

        ec2.deleteRoute(b -> b.routeTableId(mainTable(n.vpc())).destinationCidrBlock("0.0.0.0/0"));
        ec2.releaseAddress(b -> b.allocationId(allocation));
        ec2.detachInternetGateway(b -> b.internetGatewayId(n.igw()).vpcId(n.vpc()));
        ec2.deleteInternetGateway(b -> b.internetGatewayId(n.igw()));
        ec2.deleteSubnet(b -> b.subnetId(n.publicSubnet()));
        ec2.deleteSubnet(b -> b.subnetId(n.privateSubnet()));
        ec2.deleteRouteTable(b -> b.routeTableId(n.publicTable()));
        ec2.deleteVpc(b -> b.vpcId(n.vpc()));
        assertThat(ec2.describeVpcs().vpcs()).isEmpty();
        assertThat(ec2.describeNatGateways().natGateways()).as("deleted ones stay visible for an hour")
                .extracting(NatGateway::stateAsString).containsOnly("deleted");
    }
}
