package io.hyperplane.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.config.fabric.Internet;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static io.hyperplane.worker.Functions.call;
import static io.hyperplane.worker.Functions.function;
import static io.hyperplane.worker.Functions.inVpc;
import static io.hyperplane.worker.Functions.subnet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A cold start's network attach with networks as names and a fake control plane: which network, which ENI, what is undone. */
class NetworkAttachTest {
    private static final String REQUEST = "8f5b0a4e-7d0c-4b61-9f1e-3c2a1b0d9e8f";

    private final FakeNetworkSource networks = new FakeNetworkSource();
    private final FakeControlPlane control = new FakeControlPlane();
    private final WorkerMetrics metrics = new WorkerMetrics();
    private List<String> liveNodes = List.of("192.0.2.10", "192.0.2.11");

    private NetworkAttach attach(WorkerSettings.NetworkModel model) {
        return new NetworkAttach(model, networks, control, () -> liveNodes, metrics);
    }

    @Test
    void shouldBindAFunctionWithoutAVpcToTheServiceEgressThroughTheFirstLiveNode() throws Exception {
        NetworkAttach.Attached attached = attach(WorkerSettings.NetworkModel.SHARED).attach(call(function("fn"), REQUEST));

        assertThat(networks.tunnelledTo).containsExactly("192.0.2.10");
        assertThat(networks.binds).containsExactly(new FakeNetworkSource.Bind("hp-ee-t-1", Internet.SERVICE_EGRESS_ENI_ID, null));
        assertThat(attached.network().eniId()).isEqualTo(Internet.SERVICE_EGRESS_ENI_ID);
        assertThat(attached.eniCreation()).isEqualTo(NetworkAttach.EniCreation.NONE);
    }

    @Test
    void shouldCreateNoLegacyEniForAFunctionWithoutAVpc() throws Exception {
        NetworkAttach.Attached attached = attach(WorkerSettings.NetworkModel.LEGACY).attach(call(function("fn"), REQUEST));

        assertThat(networks.binds).containsExactly(new FakeNetworkSource.Bind("hp-ee-t-1", Internet.SERVICE_EGRESS_ENI_ID, null));
        assertThat(attached.network().legacyEniId()).isNull();
        assertThat(metrics(metrics).path("legacyEnisCreated").asLong()).isZero();
    }

    @Test
    void shouldRefuseAFunctionWithoutAVpcAsAServiceErrorWhenNoNodeIsLive() {
        liveNodes = List.of();

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.SHARED).attach(call(function("fn"), REQUEST)))
                .isInstanceOfSatisfying(ServiceError.class, e -> {
                    assertThat(e.errorType()).isEqualTo("ServiceException");
                    assertThat(e).hasMessage("No forwarder node is live: the function cannot reach the internet.");
                });
        assertThat(networks.tunnelledTo).isEmpty();
    }

    @Test
    void shouldDiscardTheSlotWhenTheEgressBindFails() {
        networks.bindFailure = new IOException("registering environment: 503");

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.SHARED).attach(call(function("fn"), REQUEST)))
                .hasMessage("registering environment: 503");

        assertThat(networks.discarded).containsExactly("hp-ee-t-1");
    }

    @Test
    void shouldBindASlotTunnelledToTheFirstLiveNodeToTheSubnetsEni() throws Exception {
        NetworkAttach.Attached attached = attach(WorkerSettings.NetworkModel.SHARED).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST));

        assertThat(networks.tunnelledTo).containsExactly("192.0.2.10");
        assertThat(attached.network().eniId()).isEqualTo("eni-a");
        assertThat(attached.network().legacyEniId()).isNull();
        assertThat(metrics(metrics).path("networkAttachSteps").path("bindUntilEveryNodeHasItMs").path("count").asLong()).isEqualTo(1);
    }

    @Test
    void shouldPlaceAFunctionsEnvironmentsOnItsSubnetsInTurn() throws Exception {
        NetworkAttach attach = attach(WorkerSettings.NetworkModel.SHARED);
        FunctionConfig f = inVpc("fn", subnet("subnet-a", "eni-a"), subnet("subnet-b", "eni-b"));
        FunctionConfig other = inVpc("other", subnet("subnet-a", "eni-c"), subnet("subnet-b", "eni-d"));

        List<String> enis = new ArrayList<>();
        for (FunctionConfig function : List.of(f, other, f, f, other)) {
            enis.add(attach.attach(call(function, REQUEST)).network().eniId());
        }

        assertThat(enis).containsExactly("eni-a", "eni-c", "eni-b", "eni-a", "eni-d");
    }

    @Test
    void shouldRefuseAVpcFunctionAsAServiceErrorWhenNoNodeIsLive() {
        liveNodes = List.of();

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.SHARED).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST)))
                .isInstanceOfSatisfying(ServiceError.class, e -> {
                    assertThat(e.errorType()).isEqualTo("ServiceException");
                    assertThat(e.status()).isEqualTo(500);
                    assertThat(e).hasMessage("No forwarder node is live: the function's VPC cannot be reached.");
                });
        assertThat(networks.tunnelledTo).isEmpty();
    }

    @Test
    void shouldDiscardTheSlotWhenTheBindFails() {
        networks.bindFailure = new IOException("registering environment: 503");

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.SHARED).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST)))
                .hasMessage("registering environment: 503");

        assertThat(networks.discarded).containsExactly("hp-ee-t-1");
    }

    @Test
    void shouldCreateALegacyEniOfItsOwnAndBindToIt() throws Exception {
        control.legacyThrottled = true;

        NetworkAttach.Attached attached = attach(WorkerSettings.NetworkModel.LEGACY).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST));

        assertThat(networks.binds).containsExactly(new FakeNetworkSource.Bind("hp-ee-t-1", "eni-legacy0", "eni-legacy0"));
        assertThat(attached.eniCreation().throttled()).isTrue();
        assertThat(attached.eniCreation().ms()).isNotNaN();
        JsonNode json = metrics(metrics);
        assertThat(json.path("legacyEnisCreated").asLong()).isEqualTo(1);
        assertThat(json.path("legacyEniCreationsThrottled").asLong()).isEqualTo(1);
        assertThat(json.path("legacyEniCreateMs").path("count").asLong()).isEqualTo(1);
    }

    @Test
    void shouldPassOnTheControlPlanesRefusalOfALegacyEniAsLambdasServiceError() {
        control.legacyRefusal = new ControlPlane.Refused(502, "EC2ThrottledException", "POST /hyperplane/v1/legacy-enis: HTTP 502 Rate exceeded");

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.LEGACY).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST)))
                .isInstanceOfSatisfying(ServiceError.class, e -> {
                    assertThat(e.errorType()).isEqualTo("EC2ThrottledException");
                    assertThat(e.status()).isEqualTo(502);
                    assertThat(e).hasMessage("POST /hyperplane/v1/legacy-enis: HTTP 502 Rate exceeded");
                });
        JsonNode json = metrics(metrics);
        assertThat(json.path("legacyEniFailures").asLong()).isEqualTo(1);
        assertThat(json.path("legacyEniCreationsThrottled").asLong()).isEqualTo(1);
        assertThat(networks.tunnelledTo).isEmpty();
    }

    @Test
    void shouldCallARefusalWithoutATypeAServiceException() {
        control.legacyRefusal = new ControlPlane.Refused(500, null, "HTTP 500");

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.LEGACY).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST)))
                .isInstanceOfSatisfying(ServiceError.class, e -> assertThat(e.errorType()).isEqualTo("ServiceException"));
    }

    @Test
    void shouldDeleteTheLegacyEniWhenNoSlotCanBeHad() {
        networks.takeFailure = new IOException("ip netns add: no space");

        assertThatThrownBy(() -> attach(WorkerSettings.NetworkModel.LEGACY).attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST)))
                .isInstanceOf(IOException.class);

        assertThat(control.legacyEnisDeleted).containsExactly("eni-legacy0");
        assertThat(networks.discarded).isEmpty();
    }

    @Test
    void shouldDetachTheNamespaceAndALegacyEni() throws Exception {
        NetworkAttach attach = attach(WorkerSettings.NetworkModel.LEGACY);
        EnvironmentNetwork network = attach.attach(call(inVpc("fn", subnet("subnet-a", "eni-a")), REQUEST)).network();

        attach.detach(network);

        assertThat(networks.discarded).containsExactly(network.namespace());
        assertThat(control.legacyEnisDeleted).containsExactly("eni-legacy0");
    }

    private static JsonNode metrics(WorkerMetrics metrics) {
        return metrics.json(0, 0, new ControlPlane.BindsAnswered(0, 0));
    }
}
