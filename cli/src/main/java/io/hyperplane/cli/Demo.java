package io.hyperplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.sigv4.Credential;
import io.hyperplane.client.Ec2QueryClient;
import io.hyperplane.client.LambdaHttpClient;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.lab.Lab;
import io.hyperplane.metrics.LatencyRecorder;
import io.hyperplane.bench.RuntimeBench;
import org.w3c.dom.Element;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code hyperplane demo}: the mission on one screen. Through the same public APIs a user calls
 * (EC2, IAM, Lambda; SigV4-signed), it builds a VPC whose database instance admits only the
 * functions' security group, runs PostgreSQL there, creates a function that queries it, fires a
 * burst of concurrent invocations in the shared-ENI model and then in the legacy model, and shows
 * what PostgreSQL saw: one address (the shared ENI's) against one per environment. The way out
 * too: the VPC's private subnets reach the simulated internet through a NAT gateway in a public
 * subnet, and the internet sees its Elastic IP; a function without a VpcConfig leaves by the
 * service's own egress address.
 */
final class Demo {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern REPORT_FIELD = Pattern.compile("(Init Duration|Network Attach|ENI Creation): ([0-9.]+) ms( \\(throttled\\))?");
    private static final Pattern CONNECTION = Pattern.compile("connection received: host=([0-9.]+)");
    static final String VPC_CIDR = "10.42.0.0/16";
    /** The database's cluster, inside the instance. */
    static final String PG_DATA = "/var/lib/postgresql/hyperplane-demo";
    private static final String FUNCTION = "hyperplane-demo-query";
    /** The same code without a VpcConfig: on the internet through the service's egress, in no VPC. */
    private static final String EGRESS_FUNCTION = "hyperplane-demo-egress";
    static final String PUBLIC_SUBNET_CIDR = "10.42.3.0/24";
    /** The simulated internet's host, by its name: resolved by AmazonProvidedDNS, reached through the NAT gateway. */
    static final String WHOAMI_URL = "http://" + Internet.WHOAMI_NAME + "/";
    /** A route reaches the forwarder node with its next configuration, seconds after CreateRoute: until then a fetch may fail. */
    private static final Duration WAY_OUT_WAIT = Duration.ofSeconds(60);
    private static final Duration WAY_OUT_RETRY = Duration.ofMillis(500);
    private static final String ROLE = "hyperplane-demo-role";

    private final URI endpoint;
    private final Credential credential;
    private final Path dataDir;
    private final String fabricPrefix;
    private final int burst;
    private final PrintStream out;
    private final Ec2QueryClient ec2;
    private final Ec2QueryClient iam;
    private final LambdaHttpClient lambda;
    private final List<Runnable> cleanup = new ArrayList<>();
    private final long started = System.nanoTime();

    Demo(URI endpoint, Credential credential, Path dataDir, String fabricPrefix, int burst, PrintStream out) {
        this.endpoint = endpoint;
        this.credential = credential;
        this.dataDir = dataDir;
        this.fabricPrefix = fabricPrefix;
        this.burst = burst;
        this.out = out;
        this.ec2 = new Ec2QueryClient(endpoint, credential);
        this.iam = Ec2QueryClient.iam(endpoint, credential);
        this.lambda = new LambdaHttpClient(endpoint, credential);
    }

    private void step(String text) {
        out.printf("[%6.1f s] %s%n", (System.nanoTime() - started) / 1e9, text);
        out.flush();
    }

    private void detail(String text) {
        out.println("           " + text);
        out.flush();
    }

    ObjectNode run() throws Exception {
        try {
            return runSteps();
        } finally {
            step("9. cleaning up everything the demo created");
            for (Runnable r : cleanup.reversed()) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    detail("cleanup: " + e.getMessage());
                }
            }
        }
    }

    private ObjectNode runSteps() throws Exception {
        step("1. creating, through the EC2 API: a VPC " + VPC_CIDR + " with two private subnets and two security groups");
        String vpc = text(ec2.call("CreateVpc", Map.of("CidrBlock", VPC_CIDR)), "vpcId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteVpc", Map.of("VpcId", vpc))));
        String subnetA = text(ec2.call("CreateSubnet", Map.of("VpcId", vpc, "CidrBlock", "10.42.1.0/24", "AvailabilityZone", "us-east-1a")), "subnetId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteSubnet", Map.of("SubnetId", subnetA))));
        String subnetB = text(ec2.call("CreateSubnet", Map.of("VpcId", vpc, "CidrBlock", "10.42.2.0/24", "AvailabilityZone", "us-east-1b")), "subnetId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteSubnet", Map.of("SubnetId", subnetB))));
        String fnGroup = text(ec2.call("CreateSecurityGroup", Map.of("VpcId", vpc, "GroupName", "demo-functions",
                "GroupDescription", "the demo function's ENI")), "groupId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteSecurityGroup", Map.of("GroupId", fnGroup))));
        String dbGroup = text(ec2.call("CreateSecurityGroup", Map.of("VpcId", vpc, "GroupName", "demo-database",
                "GroupDescription", "PostgreSQL, for the functions only")), "groupId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteSecurityGroup", Map.of("GroupId", dbGroup))));
        ec2.call("AuthorizeSecurityGroupIngress", Map.of("GroupId", dbGroup, "IpPermissions.1.IpProtocol", "tcp", "IpPermissions.1.FromPort", "5432",
                "IpPermissions.1.ToPort", "5432", "IpPermissions.1.Groups.1.GroupId", fnGroup));
        detail(vpc + ": " + subnetA + " (10.42.1.0/24), " + subnetB + " (10.42.2.0/24)");
        detail(fnGroup + " (functions), " + dbGroup + " (database: admits only " + fnGroup + " on 5432)");
        WayOut wayOut = wayOut(vpc, List.of(subnetA, subnetB));

        step("2. launching an instance in " + subnetA + " whose UserData starts PostgreSQL");
        // The cluster lives in the instance's own file system (its sandbox's /var), and goes with the instance.
        String userData = resource("postgres-userdata.sh").replace("@DATA@", PG_DATA).replace("@VPC_CIDR@", VPC_CIDR);
        Element run = ec2.call("RunInstances", Map.of("ImageId", "ami-hyperplane-debian", "MinCount", "1", "MaxCount", "1", "SubnetId", subnetA,
                "SecurityGroupId.1", dbGroup, "UserData", Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8))));
        String instance = text(run, "instanceId");
        String dbIp = text(run, "privateIpAddress");
        cleanup.add(() -> quietly(() -> {
            ec2.call("TerminateInstances", Map.of("InstanceId.1", instance));
            waitFor(Duration.ofSeconds(60), () -> text(ec2.call("DescribeInstances", Map.of("InstanceId.1", instance)), "name").equals("terminated"));
        }));
        Path instanceLog = Lab.DEFAULT_STATE_ROOT.resolve(fabricPrefix).resolve(instance + ".log");
        waitFor(Duration.ofSeconds(120), () -> text(ec2.call("DescribeInstances", Map.of("InstanceId.1", instance)), "name").equals("running"));
        waitFor(Duration.ofSeconds(300), () -> Files.exists(instanceLog) && Files.readString(instanceLog).contains("database system is ready"));
        for (String line : Files.readAllLines(instanceLog)) {
            if (line.contains("hyperplane-demo:")) {
                detail(line.substring(line.indexOf("hyperplane-demo:") + "hyperplane-demo: ".length()));
            }
        }
        detail(instance + " at " + dbIp + ": PostgreSQL is accepting connections");

        step("3. creating the function " + FUNCTION + " (python3.12) in " + subnetB + " with " + fnGroup);
        String trust = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},"
                + "\"Action\":\"sts:AssumeRole\"}]}";
        String role = text(iam.call("CreateRole", Map.of("RoleName", ROLE, "AssumeRolePolicyDocument", trust)), "Arn");
        cleanup.add(() -> quietly(() -> iam.call("DeleteRole", Map.of("RoleName", ROLE))));
        String policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";
        iam.call("AttachRolePolicy", Map.of("RoleName", ROLE, "PolicyArn", policy));
        cleanup.add(() -> quietly(() -> iam.call("DetachRolePolicy", Map.of("RoleName", ROLE, "PolicyArn", policy))));
        ObjectNode create = functionDefinition(FUNCTION, role);
        ObjectNode vpcConfig = create.putObject("VpcConfig");
        vpcConfig.putArray("SubnetIds").add(subnetB);
        vpcConfig.putArray("SecurityGroupIds").add(fnGroup);
        long c0 = System.nanoTime();
        LambdaHttpClient.Answer created = lambda.call("POST", "/2015-03-31/functions", create.toString());
        if (created.status() != 201) {
            throw new IllegalStateException("CreateFunction: " + created.status() + " " + created.body());
        }
        cleanup.add(() -> quietly(() -> {
            lambda.call("DELETE", "/2015-03-31/functions/" + FUNCTION, null);
            step("   waiting for the function's ENIs to be deleted (grace period)");
            waitFor(Duration.ofSeconds(120), () -> enis(vpc).isEmpty());
        }));
        JsonNode state = JSON.readTree(created.body());
        detail("State " + state.path("State").asText() + " (" + state.path("StateReasonCode").asText() + "): " + state.path("StateReason").asText());
        JsonNode active = lambda.awaitActive(FUNCTION, Duration.ofSeconds(120));
        long pendingToActiveMs = (System.nanoTime() - c0) / 1_000_000;
        detail("State " + active.path("State").asText() + " after " + pendingToActiveMs + " ms: its Hyperplane ENIs are programmed into every forwarder node");
        for (JsonNode eni : enis(vpc)) {
            detail(eni.path("id").asText() + " " + eni.path("ip").asText() + " in " + eni.path("subnet").asText() + " (" + eni.path("description").asText() + ")");
        }

        ObjectNode internet = internet(wayOut, role);

        step("5-6. shared model: " + burst + " concurrent invocations, each holding its PostgreSQL connection 2 s");
        ObjectNode shared = burst(vpc, dbIp, instanceLog, null);
        step("7. legacy model (pre-2019, one ENI per environment): the same burst");
        ObjectNode legacy = burst(vpc, dbIp, instanceLog, "legacy");

        step("8. summary");
        printSummary(shared, legacy);
        printWayOut(internet);
        ObjectNode result = JSON.createObjectNode().put("functionState", active.path("State").asText()).put("pendingToActiveMs", pendingToActiveMs);
        result.set("shared", shared);
        result.set("legacy", legacy);
        result.set("internet", internet);
        return result;
    }

    /**
     * The VPC's way out, as a user builds it: an internet gateway, a public subnet routed to it with
     * a NAT gateway (and its Elastic IP) in it, and the private subnets' default route to the NAT
     * gateway (made once it is available, in {@link #internet}).
     */
    private WayOut wayOut(String vpc, List<String> privateSubnets) throws Exception {
        step("1b. the way out: an internet gateway, a public subnet " + PUBLIC_SUBNET_CIDR + " with a NAT gateway and its Elastic IP");
        String igw = text(ec2.call("CreateInternetGateway", Map.of()), "internetGatewayId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteInternetGateway", Map.of("InternetGatewayId", igw))));
        ec2.call("AttachInternetGateway", Map.of("InternetGatewayId", igw, "VpcId", vpc));
        cleanup.add(() -> quietly(() -> ec2.call("DetachInternetGateway", Map.of("InternetGatewayId", igw, "VpcId", vpc))));
        String publicSubnet = text(ec2.call("CreateSubnet", Map.of("VpcId", vpc, "CidrBlock", PUBLIC_SUBNET_CIDR, "AvailabilityZone", "us-east-1a")),
                "subnetId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteSubnet", Map.of("SubnetId", publicSubnet))));
        String publicTable = routeTable(vpc, List.of(publicSubnet));
        ec2.call("CreateRoute", Map.of("RouteTableId", publicTable, "DestinationCidrBlock", "0.0.0.0/0", "GatewayId", igw));
        Element address = ec2.call("AllocateAddress", Map.of("Domain", "vpc"));
        String allocation = text(address, "allocationId");
        cleanup.add(() -> quietly(() -> ec2.call("ReleaseAddress", Map.of("AllocationId", allocation))));
        String nat = text(ec2.call("CreateNatGateway", Map.of("SubnetId", publicSubnet, "AllocationId", allocation)), "natGatewayId");
        cleanup.add(() -> quietly(() -> {
            ec2.call("DeleteNatGateway", Map.of("NatGatewayId", nat));
            // Its Elastic IP is free, and the gateway detachable, once it is deleted.
            waitFor(Duration.ofSeconds(120), () -> natState(nat).equals("deleted"));
        }));
        String privateTable = routeTable(vpc, privateSubnets);
        detail(igw + " attached; " + publicSubnet + " (" + PUBLIC_SUBNET_CIDR + ") routes 0.0.0.0/0 to it");
        detail(nat + " in " + publicSubnet + " with Elastic IP " + text(address, "publicIp") + " (" + allocation + ")");
        return new WayOut(nat, privateTable);
    }

    /** The NAT gateway, and the private subnets' route table that is to send 0.0.0.0/0 to it. */
    private record WayOut(String natGateway, String privateRouteTable) {
    }

    /** A route table of the VPC's for {@code subnets}; its removal (and theirs from it) goes into the cleanup. */
    private String routeTable(String vpc, List<String> subnets) throws Exception {
        String table = text(ec2.call("CreateRouteTable", Map.of("VpcId", vpc)), "routeTableId");
        cleanup.add(() -> quietly(() -> ec2.call("DeleteRouteTable", Map.of("RouteTableId", table))));
        for (String subnet : subnets) {
            String association = text(ec2.call("AssociateRouteTable", Map.of("RouteTableId", table, "SubnetId", subnet)), "associationId");
            cleanup.add(() -> quietly(() -> ec2.call("DisassociateRouteTable", Map.of("AssociationId", association))));
        }
        return table;
    }

    /** The NAT gateway's state as DescribeNatGateways tells it ("deleted" once it is gone); a failed one throws, with AWS's reason. */
    private String natState(String nat) throws IOException, InterruptedException {
        Element answer;
        try {
            answer = ec2.call("DescribeNatGateways", Map.of("NatGatewayId.1", nat));
        } catch (Ec2QueryClient.Ec2ClientException e) {
            if (e.code().equals("NatGatewayNotFound")) {
                return "deleted";
            }
            throw e;
        }
        List<Element> gateways = Ec2QueryClient.items(Ec2QueryClient.child(answer, "natGatewaySet"));
        if (gateways.isEmpty()) {
            return "deleted";
        }
        String state = Ec2QueryClient.child(gateways.getFirst(), "state").getTextContent();
        if (state.equals("failed")) {
            Element gateway = gateways.getFirst();
            throw new IllegalStateException(nat + " failed: " + text(gateway, "failureCode") + " " + text(gateway, "failureMessage"));
        }
        return state;
    }

    /**
     * The way out, shown: once the NAT gateway is available and the private subnets route to it, the
     * VPC function asks the internet's whoami what it sees (the NAT gateway's Elastic IP), and so
     * does the same code without a VpcConfig (the service's egress address).
     */
    private ObjectNode internet(WayOut wayOut, String role) throws Exception {
        String nat = wayOut.natGateway();
        step("4. the way out: the function fetches " + WHOAMI_URL + " through " + nat + "; so does one without a VpcConfig");
        waitFor(Duration.ofSeconds(120), () -> natState(nat).equals("available"));
        ec2.call("CreateRoute", Map.of("RouteTableId", wayOut.privateRouteTable(), "DestinationCidrBlock", "0.0.0.0/0", "NatGatewayId", nat));
        Element described = Ec2QueryClient.items(Ec2QueryClient.child(ec2.call("DescribeNatGateways", Map.of("NatGatewayId.1", nat)),
                "natGatewaySet")).getFirst();
        String elasticIp = text(described, "publicIp");
        detail(nat + " available; the private subnets' 0.0.0.0/0 routes to it");

        ObjectNode create = functionDefinition(EGRESS_FUNCTION, role);
        LambdaHttpClient.Answer created = lambda.call("POST", "/2015-03-31/functions", create.toString());
        if (created.status() != 201) {
            throw new IllegalStateException("CreateFunction " + EGRESS_FUNCTION + ": " + created.status() + " " + created.body());
        }
        cleanup.add(() -> quietly(() -> lambda.call("DELETE", "/2015-03-31/functions/" + EGRESS_FUNCTION, null)));
        lambda.awaitActive(EGRESS_FUNCTION, Duration.ofSeconds(120));

        String fromVpc = internetSaw(FUNCTION, elasticIp);
        String fromService = internetSaw(EGRESS_FUNCTION, Internet.SERVICE_EGRESS_ADDRESS);
        detail("the internet saw " + fromVpc + " from " + FUNCTION + " (the NAT gateway's Elastic IP is " + elasticIp + ")");
        detail("the internet saw " + fromService + " from " + EGRESS_FUNCTION + " (no VpcConfig: the service's egress address)");
        return JSON.createObjectNode().put("natGateway", nat).put("elasticIp", elasticIp).put("seenFromVpcFunction", fromVpc)
                .put("serviceEgressAddress", Internet.SERVICE_EGRESS_ADDRESS).put("seenFromNonVpcFunction", fromService);
    }

    /** What whoami saw of {@code function}: asked again for a while until it is {@code expected}; else the last answer, or the error. */
    private String internetSaw(String function, String expected) throws Exception {
        String event = JSON.createObjectNode().put("url", WHOAMI_URL).toString();
        long deadline = System.nanoTime() + WAY_OUT_WAIT.toNanos();
        while (true) {
            LambdaHttpClient.Answer a = lambda.invoke(function, event);
            String saw = a.ok() ? JSON.readTree(a.body()).path("internetSaw").asText() : "error: " + a.body();
            if (saw.equals(expected) || System.nanoTime() > deadline) {
                return saw;
            }
            Thread.sleep(WAY_OUT_RETRY);
        }
    }

    /** CreateFunction's body for the demo's code, without a VpcConfig. */
    private static ObjectNode functionDefinition(String name, String role) throws IOException {
        ObjectNode create = JSON.createObjectNode().put("FunctionName", name).put("Runtime", "python3.12").put("Handler", "app.handler")
                .put("Role", role).put("Timeout", 60).put("MemorySize", 128);
        create.putObject("Code").put("ZipFile", Base64.getEncoder().encodeToString(RuntimeBench.zip(Map.of("app.py", resource("app.py")), false)));
        return create;
    }

    /** An invocation's answer and when it came ({@link System#nanoTime}). */
    private record Answered(LambdaHttpClient.Answer answer, long at) {
    }

    private ObjectNode burst(String vpc, String dbIp, Path instanceLog, String model) throws Exception {
        long logOffset = Files.size(instanceLog);
        Map<String, String> headers = model == null ? Map.of() : Map.of("X-Hyperplane-Network-Model", model);
        String event = "{\"host\":\"" + dbIp + "\",\"holdSeconds\":2}";
        ExecutorService pool = Executors.newFixedThreadPool(burst);
        List<CompletableFuture<Answered>> calls = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < burst; i++) {
            calls.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return new Answered(lambda.invoke(FUNCTION, event, headers), System.nanoTime());
                } catch (IOException | InterruptedException e) {
                    return new Answered(new LambdaHttpClient.Answer(0, e.getClass().getSimpleName(), null, null, e.getMessage()), System.nanoTime());
                }
            }, pool));
        }
        int ok = 0;
        int failed = 0;
        Map<String, Integer> errors = new LinkedHashMap<>();
        TreeSet<String> seen = new TreeSet<>();
        LatencyRecorder cold = new LatencyRecorder(); // a cold start: Init Duration (process + runtime init) plus the network attach before it
        LatencyRecorder attach = new LatencyRecorder();
        int throttled = 0;
        long lastOk = t0;
        for (CompletableFuture<Answered> call : calls) {
            LambdaHttpClient.Answer a = call.join().answer();
            if (!a.ok()) {
                failed++;
                errors.merge(a.errorType() != null ? a.errorType() : a.functionError() != null ? "function error" : "HTTP " + a.status(), 1, Integer::sum);
                continue;
            }
            ok++;
            lastOk = Math.max(lastOk, call.join().at());
            seen.add(JSON.readTree(a.body()).path("clientAddressSeenByPostgres").asText());
            Matcher m = REPORT_FIELD.matcher(a.log());
            double init = Double.NaN;
            double attached = 0;
            while (m.find()) {
                switch (m.group(1)) {
                    case "Init Duration" -> init = Double.parseDouble(m.group(2));
                    case "Network Attach" -> {
                        attached = Double.parseDouble(m.group(2));
                        attach.recordMillis(attached);
                    }
                    default -> throttled += m.group(3) != null ? 1 : 0;
                }
            }
            if (!Double.isNaN(init)) {
                cold.recordMillis(init + attached);
            }
        }
        pool.shutdownNow();
        long untilAllMs = ok == burst ? (lastOk - t0) / 1_000_000 : -1;
        List<JsonNode> enis = enis(vpc).stream().filter(e -> (model == null) != e.path("description").asText().contains("legacy")).toList();
        TreeSet<String> databaseLog = new TreeSet<>();
        try (InputStream in = Files.newInputStream(instanceLog)) {
            in.skipNBytes(logOffset);
            Matcher m = CONNECTION.matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            while (m.find()) {
                databaseLog.add(m.group(1));
            }
        }
        ObjectNode r = JSON.createObjectNode();
        r.put("executionEnvironments", cold.count()).put("enis", enis.size())
                .put("subnetIpsUsed", enis.stream().map(e -> e.path("ip").asText()).distinct().count()).put("throttledEniCreations", throttled);
        r.set("coldStartMs", RuntimeBench.percentiles(cold));
        r.set("networkAttachMs", RuntimeBench.percentiles(attach));
        r.put("invocationsOk", ok).put("invocationsFailed", failed).put("timeUntilAllSucceededMs", untilAllMs);
        ArrayNode addresses = r.putArray("clientAddressesSeenByDatabase");
        seen.forEach(addresses::add);
        ArrayNode logged = r.putArray("connectionsInPostgresLogFrom");
        databaseLog.forEach(logged::add);
        if (!errors.isEmpty()) {
            r.set("errors", JSON.valueToTree(errors));
        }
        detail(ok + " succeeded, " + failed + " failed" + (errors.isEmpty() ? "" : " " + errors) + "; " + cold.count() + " cold starts; "
                + enis.size() + " ENI(s): " + abbreviate(new TreeSet<>(enis.stream().map(e -> e.path("ip").asText()).toList())));
        detail("PostgreSQL's pg_stat_activity saw client address(es) " + abbreviate(seen) + "; its log: connections from " + abbreviate(databaseLog));
        return r;
    }

    private static String abbreviate(TreeSet<String> values) {
        return values.size() <= 4 ? values.toString() : values.size() + " addresses " + List.copyOf(values).subList(0, 3) + "...";
    }

    private void printSummary(ObjectNode s, ObjectNode l) {
        String[][] rows = {
                {"", "shared model", "legacy model"},
                {"EEs started", s.path("executionEnvironments").asText(), l.path("executionEnvironments").asText()},
                {"ENIs", s.path("enis").asText(), l.path("enis").asText()},
                {"subnet IPs used", s.path("subnetIpsUsed").asText(), l.path("subnetIpsUsed").asText()},
                {"throttled ENI creations", s.path("throttledEniCreations").asText(), l.path("throttledEniCreations").asText()},
                {"cold-start p50 / p99 ms (network attach p50 / p99)", coldText(s), coldText(l)},
                {"invocations succeeded / failed", s.path("invocationsOk").asText() + " / " + s.path("invocationsFailed").asText(),
                        l.path("invocationsOk").asText() + " / " + l.path("invocationsFailed").asText()},
                {"time until all succeeded", ms(s.path("timeUntilAllSucceededMs").asLong()), ms(l.path("timeUntilAllSucceededMs").asLong())},
                {"client addresses PostgreSQL saw", Integer.toString(s.path("clientAddressesSeenByDatabase").size()),
                        Integer.toString(l.path("clientAddressesSeenByDatabase").size())},
        };
        out.println();
        out.println("| " + String.join(" | ", rows[0]) + " |");
        out.println("|---|---:|---:|");
        for (int i = 1; i < rows.length; i++) {
            out.println("| " + String.join(" | ", rows[i]) + " |");
        }
        out.println();
    }

    private void printWayOut(ObjectNode internet) {
        out.println("The way out: the internet saw " + internet.path("seenFromVpcFunction").asText() + " from the VPC function (the NAT gateway's"
                + " Elastic IP " + internet.path("elasticIp").asText() + "), " + internet.path("seenFromNonVpcFunction").asText()
                + " from the function without a VpcConfig (the service's egress " + internet.path("serviceEgressAddress").asText() + ").");
        out.println();
    }

    private static String coldText(JsonNode r) {
        return r.path("coldStartMs").path("p50").asText("-") + " / " + r.path("coldStartMs").path("p99").asText("-") + " ("
                + r.path("networkAttachMs").path("p50").asText("-") + " / " + r.path("networkAttachMs").path("p99").asText("-") + ")";
    }

    private static String ms(long ms) {
        return ms < 0 ? "not all succeeded" : String.format("%.1f s", ms / 1000.0);
    }

    /** The VPC's Hyperplane ENIs as DescribeNetworkInterfaces shows them (Lambda's: not the NAT gateway's). */
    private List<JsonNode> enis(String vpc) throws IOException, InterruptedException {
        List<JsonNode> out = new ArrayList<>();
        Element root = ec2.call("DescribeNetworkInterfaces", Map.of("Filter.1.Name", "vpc-id", "Filter.1.Value.1", vpc));
        for (Element e : Ec2QueryClient.items(Ec2QueryClient.child(root, "networkInterfaceSet"))) {
            if (!Ec2QueryClient.text(e, "interfaceType").equals("lambda")) {
                continue;
            }
            out.add(JSON.createObjectNode().put("id", Ec2QueryClient.text(e, "networkInterfaceId")).put("ip", Ec2QueryClient.text(e, "privateIpAddress"))
                    .put("subnet", Ec2QueryClient.text(e, "subnetId")).put("description", Ec2QueryClient.text(e, "description")));
        }
        return out;
    }

    private static String text(Element e, String name) {
        return Ec2QueryClient.text(e, name);
    }

    static String resource(String name) throws IOException {
        try (InputStream in = Demo.class.getResourceAsStream("/io/hyperplane/cli/demo/" + name)) {
            if (in == null) {
                throw new IOException("demo resource " + name + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("gave up after " + timeout.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
    }

    private interface Action {
        void run() throws Exception;
    }

    private void quietly(Action action) {
        try {
            action.run();
        } catch (Exception e) {
            detail("cleanup: " + e.getMessage());
        }
    }

}
