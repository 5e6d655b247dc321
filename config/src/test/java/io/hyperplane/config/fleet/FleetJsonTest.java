package io.hyperplane.config.fleet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Every fleet message survives its own binding unchanged, is read as the wire has it, and is
 * refused with a message naming what is wrong when a field is missing, of the wrong kind or
 * invalid: these arrive from other machines.
 */
class FleetJsonTest {
    private static final ObjectMapper TREES = new ObjectMapper();

    /** A message as its decoder is asked for it, and the fields a sender may leave out. */
    record Sample(Class<?> type, Object message, Set<String> optional) {
        @Override
        public String toString() {
            return message.getClass().getSimpleName();
        }
    }

    private static Payload payload(String text) {
        return new Payload(text.getBytes(StandardCharsets.UTF_8));
    }

    static InvokeRequest invokeRequest() {
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("GREETING", "hi");
        environment.put("A_FIRST_GIVEN_LAST", "order kept");
        return new InvokeRequest("r-1", "123456789012", "us-east-1", "fn", "$LATEST", "arn:aws:lambda:us-east-1:123456789012:function:fn",
                "python3.12", "app.handler", 256, 7, 10_240, "c2hh", "rev-1", environment,
                List.of(new InvokeRequest.Subnet("subnet-1", "eni-1", List.of("sg-1", "sg-2"))), "10.0.0.2", "{\"custom\":{}}", payload("{\"a\":1}"));
    }

    static Stream<Sample> samples() {
        return Stream.of(
                new Sample(InvokeRequest.class, invokeRequest(), Set.of("handler", "clientContext")),
                new Sample(InvokeResult.class, new InvokeResult.Success(payload("\"ok\""), "START RequestId: r-1\n"), Set.of("log")),
                new Sample(InvokeResult.class, new InvokeResult.Success(new Payload(new byte[] {0, (byte) 0xff, 10}), ""), Set.of("log")),
                new Sample(InvokeResult.class, new InvokeResult.FunctionError("Unhandled",
                        payload("{\"errorType\":\"Runtime.ExitError\"}"), "END\n"), Set.of("log")),
                new Sample(InvokeResult.class, new InvokeResult.ServiceError("EC2ThrottledException", 502, "throttled by EC2"), Set.of()),
                new Sample(Eviction.class, new Eviction("123456789012", "fn"), Set.of()),
                new Sample(Evicted.class, new Evicted(3), Set.of()),
                new Sample(WorkerHeartbeat.class, new WorkerHeartbeat(URI.create("http://127.0.0.1:40123"), "198.18.0.11", "legacy", 4),
                        Set.of("networkModel")),
                new Sample(WorkerHeartbeatAnswer.class, new WorkerHeartbeatAnswer(List.of(new WorkerHeartbeatAnswer.LiveNode("n1", "198.18.0.9", 4789),
                        new WorkerHeartbeatAnswer.LiveNode("n2", "198.18.0.10", 4790)), FleetPlan.inService(List.of("198.18.0.9", "198.18.0.10"))),
                        Set.of("fleet")),
                new Sample(NodeHeartbeat.class, new NodeHeartbeat("198.18.0.9", 4790, 7, "5f0c-run",
                        List.of(new NodeHeartbeat.EniUsage("eni-1", "10.0.1.4", 12, 11)),
                        List.of(new NodeHeartbeat.NatGatewayUsage("nat-0123456789abcdef0", Map.of("ActiveConnectionCount", 3L, "ErrorPortAllocation", 1L))),
                        15, 14, "hp-up-node2", 4242, true, "198.18.0.10", 2, "0a1b2c3d"),
                        Set.of("port", "appliedVersion", "incarnation", "enis", "natGateways", "flows", "natPorts", "netns", "pid", "ready",
                                "syncedTo", "threads", "syncedToIncarnation")),
                new Sample(NodeHeartbeatAnswer.class, new NodeHeartbeatAnswer(1000, 42, FleetPlan.inService(List.of("198.18.0.9"))), Set.of("fleet")),
                new Sample(EnvironmentRegistration.class, new EnvironmentRegistration("hp-ee-w1-3", "198.18.0.2", "100.64.0.17",
                        "02:ee:00:00:00:01", "eni-1"), Set.of("eniId")),
                new Sample(EnvironmentRegistered.class, new EnvironmentRegistered("hp-ee-w1-3", 5001, 42), Set.of()),
                new Sample(RegistrationRequest.class, new RegistrationRequest(9, new EnvironmentRegistration("hp-ee-w1-3", "198.18.0.2",
                        "100.64.0.17", "02:ee:00:00:00:01", null), true), Set.of("waitForNodes")),
                new Sample(RegistrationAnswer.class, new RegistrationAnswer.Registered(9, new EnvironmentRegistered("hp-ee-w1-3", 5001, 42)), Set.of()),
                new Sample(RegistrationAnswer.class, new RegistrationAnswer.Refused(9, 504, "nodes did not apply config version 42"), Set.of()),
                new Sample(LegacyEniRequest.class, new LegacyEniRequest("123456789012", "fn", "subnet-1", List.of("sg-1")), Set.of()),
                new Sample(LegacyEniCreated.class, new LegacyEniCreated("eni-9", "10.0.1.9", true, 3012), Set.of()),
                new Sample(FleetError.class, new FleetError("EC2ThrottledException", "throttled by EC2"), Set.of("errorType")));
    }

    // ---- Round trips ----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void shouldDecodeWhatItEncodedUnchanged(Sample s) {
        assertThat(FleetJson.decode(FleetJson.encode(s.message()), s.type())).isEqualTo(s.message());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void shouldReadEveryMessageWithItsOptionalFieldsLeftOut(Sample s) throws Exception {
        ObjectNode tree = (ObjectNode) TREES.readTree(FleetJson.encode(s.message()));
        tree.remove(s.optional());
        assertThat(FleetJson.decode(tree.toString(), s.type())).isInstanceOf(s.message().getClass());
    }

    @Test
    void shouldKeepTheEnvironmentsOrder() {
        InvokeRequest decoded = FleetJson.decode(FleetJson.encode(invokeRequest()), InvokeRequest.class);
        assertThat(decoded.environment().keySet()).containsExactly("GREETING", "A_FIRST_GIVEN_LAST");
    }

    // ---- The wire as it is ----------------------------------------------------------------------

    @Test
    void shouldTellInvokeResultsApartByTheirOutcome() {
        assertThat(FleetJson.encode(new InvokeResult.Success(payload("{}"), "log")))
                .isEqualTo("{\"outcome\":\"success\",\"payload\":\"e30=\",\"log\":\"log\"}");
        assertThat(FleetJson.decode("{\"outcome\":\"success\",\"payload\":\"e30=\"}", InvokeResult.class))
                .as("a worker with no log").isEqualTo(new InvokeResult.Success(payload("{}"), ""));
        assertThat(FleetJson.decode("{\"outcome\":\"function-error\",\"functionError\":\"Unhandled\",\"payload\":\"\",\"log\":\"x\"}",
                InvokeResult.class)).isEqualTo(new InvokeResult.FunctionError("Unhandled", new Payload(new byte[0]), "x"));
        assertThat(FleetJson.decode("{\"outcome\":\"error\",\"errorType\":\"ServiceException\",\"status\":500,\"message\":\"m\"}",
                InvokeResult.class)).isEqualTo(new InvokeResult.ServiceError("ServiceException", 500, "m"));
    }

    @Test
    void shouldTellRegistrationAnswersApartByTheirFields() {
        assertThat(FleetJson.encode(new RegistrationAnswer.Registered(1, new EnvironmentRegistered("hp-ee-1", 5001, 7))))
                .isEqualTo("{\"id\":1,\"status\":201,\"vni\":5001,\"configVersion\":7}");
        assertThat(FleetJson.encode(new RegistrationAnswer.Refused(2, 400, "bad"))).isEqualTo("{\"id\":2,\"status\":400,\"message\":\"bad\"}");
        assertThat(FleetJson.decode("{\"id\":2,\"status\":400,\"message\":\"bad\"}", RegistrationAnswer.class))
                .isEqualTo(new RegistrationAnswer.Refused(2, 400, "bad"));
    }

    @Test
    void shouldLeaveOutWhatIsAbsentAndIgnoreFieldsItDoesNotKnow() {
        assertThat(FleetJson.encode(FleetError.of("no such execution environment"))).isEqualTo("{\"message\":\"no such execution environment\"}");
        assertThat(FleetJson.encode(new EnvironmentRegistration("hp-ee-1", "198.18.0.2", "100.64.0.17", "02:ee:00:00:00:01", null)))
                .doesNotContain("eniId");
        assertThat(FleetJson.decode("{\"ended\":2,\"fromANewerWorker\":[1,2]}", Evicted.class)).isEqualTo(new Evicted(2));
    }

    @Test
    void shouldCountANodesFlowsAsItsEnisWhenItSendsNoNodeWideFigures() {
        NodeHeartbeat beat = FleetJson.decode("{\"underlayIp\":\"198.18.0.9\",\"enis\":[{\"id\":\"eni-1\",\"ip\":\"10.0.1.4\",\"flows\":3,"
                + "\"natPorts\":4},{\"id\":\"eni-2\",\"ip\":\"10.0.2.4\",\"flows\":5,\"natPorts\":6}]}", NodeHeartbeat.class);

        assertThat(beat.flows()).isEqualTo(8);
        assertThat(beat.natPorts()).isEqualTo(10);
    }

    @Test
    void shouldRefuseANegativeNodeWideFlowCount() {
        assertThatThrownBy(() -> FleetJson.decode("{\"underlayIp\":\"198.18.0.9\",\"flows\":-1}", NodeHeartbeat.class))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("flows");
        assertThatThrownBy(() -> new NodeHeartbeat("198.18.0.9", 4789, 1, "run", List.of(), List.of(), 0, -2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("natPorts");
    }

    @Test
    void shouldRefuseANamespaceThatIsNotANameAndANegativePid() {
        assertThatThrownBy(() -> new NodeHeartbeat("198.18.0.9", 4789, 1, "run", List.of(), List.of(), 0, 0, "../etc", 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("node heartbeat: netns '../etc': use 1-64 letters, digits, '.', '_' or '-'");
        assertThatThrownBy(() -> FleetJson.decode("{\"underlayIp\":\"198.18.0.9\",\"pid\":-1}", NodeHeartbeat.class))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pid");
        assertThat(FleetJson.decode("{\"underlayIp\":\"198.18.0.9\"}", NodeHeartbeat.class))
                .extracting(NodeHeartbeat::netns, NodeHeartbeat::pid).containsExactly("", NodeHeartbeat.NO_PID);
    }

    @Test
    void shouldGiveANodeThatSendsLessTheDocumentedDefaults() {
        NodeHeartbeat beat = FleetJson.decode("{\"underlayIp\":\"198.18.0.9\"}", NodeHeartbeat.class);
        assertThat(beat).isEqualTo(new NodeHeartbeat("198.18.0.9", NodeHeartbeat.DEFAULT_PORT, NodeHeartbeat.NO_VERSION, "", List.of()));
        WorkerHeartbeat worker = FleetJson.decode("{\"url\":\"http://127.0.0.1:1\",\"underlayIp\":\"198.18.0.11\",\"environments\":0}",
                WorkerHeartbeat.class);
        assertThat(worker.networkModel()).isEqualTo(WorkerHeartbeat.SHARED);
    }

    // ---- Refusals -------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void shouldRefuseEachMissingRequiredFieldByName(Sample s) throws Exception {
        ObjectNode whole = (ObjectNode) TREES.readTree(FleetJson.encode(s.message()));
        List<String> fields = new ArrayList<>();
        whole.fieldNames().forEachRemaining(fields::add);
        for (String field : fields) {
            if (s.optional().contains(field)) {
                continue;
            }
            ObjectNode without = whole.deepCopy();
            without.remove(field);
            Throwable refused = catchThrowable(() -> FleetJson.decode(without.toString(), s.type()));
            assertThat(refused).as("%s without %s", s, field).isInstanceOf(IllegalArgumentException.class);
            if (!(s.message() instanceof RegistrationAnswer.Refused)) { // without its message it has no fields of its own left to be told by
                assertThat(refused.getMessage()).as("%s without %s", s, field).contains(field);
            }
        }
    }

    @Test
    void shouldRefuseMissingFieldsOfNestedRecordsByName() {
        assertRefused("{\"underlayIp\":\"198.18.0.9\",\"enis\":[{\"id\":\"eni-1\",\"flows\":1,\"natPorts\":1}]}", NodeHeartbeat.class,
                "node heartbeat ENI: ip is missing");
        assertRefused("{\"nodes\":[{\"name\":\"n1\",\"underlayIp\":\"198.18.0.9\"}]}", WorkerHeartbeatAnswer.class, "'port'");
        assertRefused("{\"id\":1,\"register\":{\"id\":\"hp-ee-1\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\"}}", RegistrationRequest.class,
                "execution environment hp-ee-1: mac is missing");
        String request = FleetJson.encode(invokeRequest()).replace("\"eniId\":\"eni-1\",", "");
        assertRefused(request, InvokeRequest.class, "invoke request subnet: eniId is missing");
    }

    @Test
    void shouldRefuseWhatIsNotAMessage() {
        assertRefused("", NodeHeartbeat.class, "NodeHeartbeat: the body is empty");
        assertRefused("null", NodeHeartbeat.class, "NodeHeartbeat: expected a JSON object");
        assertRefused("not json", NodeHeartbeat.class, "NodeHeartbeat: ");
        assertRefused("[1,2]", NodeHeartbeat.class, "NodeHeartbeat: ");
        assertRefused("{\"underlayIp\":\"198.18.0.9\"} {}", NodeHeartbeat.class, "NodeHeartbeat: ");
        assertRefused("{\"underlayIp\":\"198.18.0.9\"", NodeHeartbeat.class, "NodeHeartbeat: ");
        assertRefused("{\"outcome\":\"maybe\",\"payload\":\"\"}", InvokeResult.class, "maybe");
        assertRefused("{\"payload\":\"\"}", InvokeResult.class, "outcome");
        assertRefused("{\"id\":1,\"status\":201}", RegistrationAnswer.class, "RegistrationAnswer: ");
    }

    @Test
    void shouldRefuseValuesOfTheWrongKindRatherThanCoerceThem() {
        String request = FleetJson.encode(invokeRequest());
        assertRefused(request.replace("\"memoryMb\":256", "\"memoryMb\":\"256\""), InvokeRequest.class, "(at memoryMb)");
        assertRefused(request.replace("\"memoryMb\":256", "\"memoryMb\":256.5"), InvokeRequest.class, "(at memoryMb)");
        assertRefused(request.replace("\"memoryMb\":256", "\"memoryMb\":null"), InvokeRequest.class, "memoryMb");
        assertRefused(request.replace("\"payload\":\"eyJhIjoxfQ==\"", "\"payload\":\"not base64!\""), InvokeRequest.class, "payload");
        assertRefused(request.replace("\"subnets\":[", "\"subnets\":[7,"), InvokeRequest.class, "subnets[0]");
        assertRefused("{\"underlayIp\":\"198.18.0.9\",\"enis\":[{\"id\":\"eni-1\",\"ip\":\"10.0.1.4\",\"flows\":\"many\"}]}", NodeHeartbeat.class,
                "(at enis[0].flows)");
        assertRefused("{\"id\":1,\"register\":{\"id\":\"hp-ee-1\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\",\"mac\":\"02:ee:00:00:00:01\"},"
                + "\"waitForNodes\":\"yes\"}", RegistrationRequest.class, "waitForNodes");
    }

    @Test
    void shouldRefuseInvalidValuesNamingTheField() {
        assertRefused("{\"underlayIp\":\"not-an-ip\"}", NodeHeartbeat.class, "node heartbeat: underlayIp 'not-an-ip' is not an IPv4 address");
        assertRefused("{\"underlayIp\":\"198.18.0.9\",\"port\":70000}", NodeHeartbeat.class, "node heartbeat: port 70000 must be 1..65535");
        assertRefused("{\"underlayIp\":\"198.18.0.9\",\"appliedVersion\":-2}", NodeHeartbeat.class, "appliedVersion -2 must be at least -1");
        assertRefused("{\"url\":\"http:///nohost\",\"underlayIp\":\"198.18.0.11\",\"environments\":0}", WorkerHeartbeat.class, "url 'http:///nohost' needs a host and a port");
        assertRefused("{\"url\":\"not a uri\",\"underlayIp\":\"198.18.0.11\",\"environments\":0}", WorkerHeartbeat.class, "(at url)");
        assertRefused("{\"id\":\"bad name\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\",\"mac\":\"02:ee:00:00:00:01\"}",
                EnvironmentRegistration.class, "execution environment: id 'bad name': use 1-64 letters, digits, '.', '_' or '-'");
        assertRefused("{\"id\":\"hp-ee-2\",\"hostIp\":\"nope\",\"ip\":\"100.64.0.17\",\"mac\":\"02:ee:00:00:00:01\"}",
                EnvironmentRegistration.class, "execution environment hp-ee-2: hostIp 'nope' is not an IPv4 address");
        assertRefused("{\"id\":\"hp-ee-2\",\"hostIp\":\"198.18.0.2\",\"ip\":\"100.64.0.17\",\"mac\":\"02:ee\"}",
                EnvironmentRegistration.class, "mac '02:ee' is not a MAC address");
        assertRefused("{\"outcome\":\"error\",\"errorType\":\"X\",\"status\":200,\"message\":\"m\"}", InvokeResult.class,
                "status 200 must be an HTTP error status");
        assertRefused("{\"id\":1,\"status\":200,\"vni\":5001,\"configVersion\":1}", RegistrationAnswer.class, "status 200 must be 201");
        assertRefused("{\"accountId\":\"1\",\"functionName\":\"fn\",\"subnetId\":\"subnet-1\",\"securityGroupIds\":[null]}",
                LegacyEniRequest.class, "securityGroupIds element is missing");
    }

    @Test
    void shouldRefuseInvalidValuesBuiltInProcessToo() {
        assertThatThrownBy(() -> new InvokeRequest.Subnet("subnet-1", " ", List.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("invoke request subnet: eniId is empty");
        assertThatThrownBy(() -> new Payload(null)).isInstanceOf(IllegalArgumentException.class).hasMessage("payload: bytes is missing");
    }

    @Test
    void shouldReadTheIdOfARequestWhoseRegistrationItRefuses() {
        String bad = "{\"id\":3,\"waitForNodes\":true,\"register\":{\"id\":\"hp-ee-2\",\"hostIp\":\"nope\"}}";
        assertRefused(bad, RegistrationRequest.class, "hostIp 'nope'");
        assertThat(RegistrationRequest.idOf(bad)).hasValue(3);
        assertThat(RegistrationRequest.idOf("{\"register\":{}}")).isEmpty();
        assertThat(RegistrationRequest.idOf("not json")).isEmpty();
    }

    /**
     * Bytes from another machine: whatever they are, decoding gives a valid message or the
     * documented refusal, never another exception.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void shouldOnlyEverRefuseWithIllegalArgumentOnMangledInput(Sample s) {
        Random random = new Random(14); // seeded: a failure is reproducible
        String text = FleetJson.encode(s.message());
        String alphabet = "{}[]:,\"\\0123456789-.eEtrufalsn xyz";
        for (int i = 0; i < 2_000; i++) {
            StringBuilder mangled = new StringBuilder(text);
            for (int edits = 1 + random.nextInt(3); edits > 0 && !mangled.isEmpty(); edits--) {
                int at = random.nextInt(mangled.length());
                switch (random.nextInt(3)) {
                    case 0 -> mangled.deleteCharAt(at);
                    case 1 -> mangled.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                    default -> mangled.setLength(at); // truncated
                }
            }
            Throwable thrown = catchThrowable(() -> FleetJson.decode(mangled.toString(), s.type()));
            assertThat(thrown).as("decoding %s", mangled).satisfiesAnyOf(t -> assertThat(t).isNull(),
                    t -> assertThat(t).isInstanceOf(IllegalArgumentException.class));
        }
    }

    private static void assertRefused(String json, Class<?> type, String expected) {
        assertThatThrownBy(() -> FleetJson.decode(json, type)).as(json).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(expected);
    }
}
