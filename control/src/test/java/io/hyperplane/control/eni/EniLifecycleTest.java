package io.hyperplane.control.eni;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EniLifecycleTest {
    /** The moves the lifecycle's diagram draws; every other pair of states is illegal. */
    private static final Set<List<EniState>> LEGAL = Set.of(
            List.of(EniState.CREATING, EniState.IN_USE),
            List.of(EniState.CREATING, EniState.DELETED),
            List.of(EniState.IN_USE, EniState.DELETED));

    static Stream<Arguments> legalMoves() {
        return LEGAL.stream().map(move -> Arguments.of(move.get(0), move.get(1)));
    }

    static Stream<Arguments> illegalMoves() {
        List<Arguments> out = new ArrayList<>();
        for (EniState from : EniState.values()) {
            for (EniState to : EniState.values()) {
                if (!LEGAL.contains(List.of(from, to))) {
                    out.add(Arguments.of(from, to));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("legalMoves")
    void shouldAllowTheMovesOfTheDiagram(EniState from, EniState to) {
        EniLifecycle.Transition t = EniLifecycle.move("eni-1", from, to);
        assertThat(t.from()).isEqualTo(from);
        assertThat(t.to()).isEqualTo(to);
    }

    @ParameterizedTest
    @MethodSource("illegalMoves")
    void shouldRefuseEveryOtherMoveNamingBothStates(EniState from, EniState to) {
        assertThatThrownBy(() -> EniLifecycle.move("eni-1", from, to)).isInstanceOf(IllegalStateException.class)
                .hasMessage("ENI eni-1 state " + from.stored() + " -> " + to.stored() + ": not a transition");
    }

    @ParameterizedTest
    @EnumSource(EniModel.class)
    void shouldCreateSharedEnisCreatingAndLegacyOnesInUse(EniModel model) {
        EniLifecycle.Transition t = EniLifecycle.create("eni-1", model);
        assertThat(t.from()).isNull();
        assertThat(t.to()).isEqualTo(model == EniModel.SHARED ? EniState.CREATING : EniState.IN_USE);
    }

    @ParameterizedTest
    @EnumSource(value = EniState.class, names = {"CREATING", "IN_USE"})
    void shouldReadBackEveryStoredState(EniState state) {
        assertThat(EniState.ofStored(state.stored())).isEqualTo(state);
    }

    @Test
    void shouldShowEc2sStatusOfAnEni() {
        assertThat(EniState.CREATING.ec2Status(false)).isEqualTo("attaching");
        assertThat(EniState.IN_USE.ec2Status(false)).isEqualTo("in-use");
        assertThat(EniState.IN_USE.ec2Status(true)).isEqualTo("available");
        assertThat(EniState.CREATING.ec2Status(true)).isEqualTo("available");
        assertThatThrownBy(() -> EniState.ofStored("deleted")).isInstanceOf(IllegalArgumentException.class);
    }
}
