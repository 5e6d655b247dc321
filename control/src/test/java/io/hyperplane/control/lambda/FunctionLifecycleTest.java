package io.hyperplane.control.lambda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FunctionLifecycleTest {
    private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

    /** A move of the lifecycle, and the statuses it may start from (the diagram's "from" column). */
    private record Event(String name, Function<FunctionStatus, FunctionLifecycle.Transition> move, Predicate<FunctionStatus> allowedFrom) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final List<Event> EVENTS = List.of(
            new Event("activate", FunctionLifecycle::activate, s -> s.state() == FunctionState.PENDING || s.updating()),
            new Event("fail", s -> FunctionLifecycle.fail(s, "InvalidSubnet", "gone"), s -> s.state() == FunctionState.PENDING || s.updating()),
            new Event("startUpdate", s -> FunctionLifecycle.startUpdate(s, NOW), s -> s.state() != FunctionState.PENDING && !s.updating()),
            new Event("idle", s -> FunctionLifecycle.idle(s, Duration.ofDays(14)), s -> s.state() == FunctionState.ACTIVE && !s.updating()),
            new Event("restore", s -> FunctionLifecycle.restore(s, NOW), s -> s.state() == FunctionState.INACTIVE));

    private static FunctionStatus status(FunctionState state, LastUpdateStatus lastUpdate) {
        return new FunctionStatus(state, "reason", "Code", lastUpdate, "update reason", "UpdateCode", null);
    }

    private static Stream<Arguments> moves(boolean allowed) {
        List<Arguments> out = new ArrayList<>();
        for (Event event : EVENTS) {
            for (FunctionState state : FunctionState.values()) {
                for (LastUpdateStatus lastUpdate : LastUpdateStatus.values()) {
                    if (event.allowedFrom().test(status(state, lastUpdate)) == allowed) {
                        out.add(Arguments.of(event, state, lastUpdate));
                    }
                }
            }
        }
        return out.stream();
    }

    static Stream<Arguments> illegalMoves() {
        return moves(false);
    }

    static Stream<Arguments> legalMoves() {
        return moves(true);
    }

    @ParameterizedTest(name = "{0} from {1} / {2}")
    @MethodSource("illegalMoves")
    void shouldRefuseEveryMoveItsStatusDoesNotAllowNamingBothStatuses(Event event, FunctionState state, LastUpdateStatus lastUpdate) {
        assertThatThrownBy(() -> event.move().apply(status(state, lastUpdate))).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("function state " + state + " (LastUpdateStatus " + lastUpdate + ") -> ")
                .hasMessageEndingWith(": not a transition");
    }

    @ParameterizedTest(name = "{0} from {1} / {2}")
    @MethodSource("legalMoves")
    void shouldMoveFromEveryStatusTheDiagramAllows(Event event, FunctionState state, LastUpdateStatus lastUpdate) {
        FunctionStatus from = status(state, lastUpdate);
        FunctionLifecycle.Transition t = event.move().apply(from);
        assertThat(t.from()).isEqualTo(from);
        assertThat(t.to()).isNotEqualTo(from);
    }

    @Test
    void shouldCreateAFunctionPendingWithLambdasReason() {
        FunctionLifecycle.Transition t = FunctionLifecycle.create(NOW);
        assertThat(t.from()).isNull();
        assertThat(t.to()).isEqualTo(new FunctionStatus(FunctionState.PENDING, "The function is being created.", "Creating",
                LastUpdateStatus.SUCCESSFUL, null, null, NOW));
    }

    @Test
    void shouldClearEveryReasonWhenAFunctionBecomesActive() {
        FunctionStatus to = FunctionLifecycle.activate(status(FunctionState.FAILED, LastUpdateStatus.IN_PROGRESS)).to();
        assertThat(to).isEqualTo(new FunctionStatus(FunctionState.ACTIVE, null, null, LastUpdateStatus.SUCCESSFUL, null, null, null));
    }

    @Test
    void shouldFailAPendingFunctionAndItsUpdateIfOneIsInProgress() {
        assertThat(FunctionLifecycle.fail(status(FunctionState.PENDING, LastUpdateStatus.IN_PROGRESS), "SubnetOutOfIPAddresses", "full").to())
                .isEqualTo(new FunctionStatus(FunctionState.FAILED, "full", "SubnetOutOfIPAddresses", LastUpdateStatus.FAILED, "full",
                        "SubnetOutOfIPAddresses", null));
        assertThat(FunctionLifecycle.fail(status(FunctionState.PENDING, LastUpdateStatus.SUCCESSFUL), "SubnetOutOfIPAddresses", "full").to())
                .as("no update under way: the last one's status stays")
                .isEqualTo(new FunctionStatus(FunctionState.FAILED, "full", "SubnetOutOfIPAddresses", LastUpdateStatus.SUCCESSFUL, "update reason",
                        "UpdateCode", null));
    }

    @Test
    void shouldFailOnlyTheUpdateOfAFunctionThatKeepsItsOldNetwork() {
        assertThat(FunctionLifecycle.fail(status(FunctionState.ACTIVE, LastUpdateStatus.IN_PROGRESS), "InvalidSubnet", "gone").to())
                .isEqualTo(new FunctionStatus(FunctionState.ACTIVE, "reason", "Code", LastUpdateStatus.FAILED, "gone", "InvalidSubnet", null));
    }

    @Test
    void shouldGiveLambdasReasonsForUpdatesIdlingAndRestoring() {
        FunctionStatus active = status(FunctionState.ACTIVE, LastUpdateStatus.SUCCESSFUL);
        assertThat(FunctionLifecycle.startUpdate(active, NOW).to()).isEqualTo(new FunctionStatus(FunctionState.ACTIVE, "reason", "Code",
                LastUpdateStatus.IN_PROGRESS, "The function is being updated.", null, NOW));
        FunctionStatus idle = FunctionLifecycle.idle(active, Duration.ofDays(14)).to();
        assertThat(idle.state()).isEqualTo(FunctionState.INACTIVE);
        assertThat(idle.stateReason()).isEqualTo("The function is inactive because it has not been invoked for 1209600 s.");
        assertThat(idle.stateReasonCode()).isEqualTo("Idle");
        assertThat(FunctionLifecycle.restore(idle, NOW).to()).isEqualTo(new FunctionStatus(FunctionState.PENDING, "The function is being restored.",
                "Restoring", LastUpdateStatus.SUCCESSFUL, "update reason", "UpdateCode", NOW));
    }

    @Test
    void shouldReadBackEveryStoredName() {
        for (FunctionState s : FunctionState.values()) {
            assertThat(FunctionState.ofWire(s.wire())).isEqualTo(s);
        }
        for (LastUpdateStatus s : LastUpdateStatus.values()) {
            assertThat(LastUpdateStatus.ofWire(s.wire())).isEqualTo(s);
        }
        assertThat(FunctionState.PENDING.wire()).isEqualTo("Pending");
        assertThat(LastUpdateStatus.IN_PROGRESS.wire()).isEqualTo("InProgress");
    }
}
