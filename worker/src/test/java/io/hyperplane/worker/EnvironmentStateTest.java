package io.hyperplane.worker;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;

import static io.hyperplane.worker.EnvironmentState.BUSY;
import static io.hyperplane.worker.EnvironmentState.DESTROYED;
import static io.hyperplane.worker.EnvironmentState.IDLE;
import static io.hyperplane.worker.EnvironmentState.STARTING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The execution environment's lifecycle: the five transitions it has, and every other pair refused by name. */
class EnvironmentStateTest {
    /** The lifecycle as the class comment draws it. */
    private static final Set<Arguments> LEGAL = Set.of(
            Arguments.of(STARTING, BUSY), Arguments.of(STARTING, DESTROYED),
            Arguments.of(BUSY, IDLE), Arguments.of(BUSY, DESTROYED),
            Arguments.of(IDLE, BUSY), Arguments.of(IDLE, DESTROYED));

    static Stream<Arguments> legal() {
        return LEGAL.stream();
    }

    /** Every pair of states that is not in {@link #LEGAL}, a state to itself included. */
    static Stream<Arguments> illegal() {
        return EnumSet.allOf(EnvironmentState.class).stream()
                .flatMap(from -> EnumSet.allOf(EnvironmentState.class).stream().map(to -> Arguments.of(from, to)))
                .filter(pair -> LEGAL.stream().noneMatch(legal -> legal.get()[0] == pair.get()[0] && legal.get()[1] == pair.get()[1]));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("legal")
    void shouldMoveAlongTheLifecycle(EnvironmentState from, EnvironmentState to) {
        assertThat(from.moveTo(to)).isEqualTo(to);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("illegal")
    void shouldRefuseEveryOtherTransitionNamingBothStates(EnvironmentState from, EnvironmentState to) {
        assertThatThrownBy(() -> from.moveTo(to)).isInstanceOf(IllegalStateException.class)
                .hasMessage("execution environment: no transition from " + from + " to " + to);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyState")
    void shouldLeaveNothingAfterDestroyed(EnvironmentState to) {
        assertThatThrownBy(() -> DESTROYED.moveTo(to)).isInstanceOf(IllegalStateException.class);
    }

    static Stream<EnvironmentState> everyState() {
        return Stream.of(EnvironmentState.values());
    }
}
