package io.hyperplane.control.eni;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Every move an ENI makes between its {@link EniState}s, and the only way to get one: the store
 * writes a state only from a {@link Transition} made here, and an illegal move throws, naming both
 * states.
 * <pre>
 *   allocated --shared--> CREATING --every live node runs it--> IN_USE
 *   allocated --legacy--> IN_USE    (its environment attaches it itself)
 *   CREATING, IN_USE --unused past the grace period, DeleteNetworkInterface, its environment gone--> DELETED
 * </pre>
 * Nothing leaves DELETED, and nothing returns to CREATING.
 */
public final class EniLifecycle {
    private static final Map<EniState, Set<EniState>> NEXT = Map.of(
            EniState.CREATING, EnumSet.of(EniState.IN_USE, EniState.DELETED),
            EniState.IN_USE, EnumSet.of(EniState.DELETED),
            EniState.DELETED, EnumSet.noneOf(EniState.class));

    private EniLifecycle() {
    }

    /** A move checked here: {@code from} is null for the ENI's creation. */
    public static final class Transition {
        private final String eniId;
        private final EniState from;
        private final EniState to;

        private Transition(String eniId, EniState from, EniState to) {
            this.eniId = eniId;
            this.from = from;
            this.to = to;
        }

        public String eniId() {
            return eniId;
        }

        public EniState from() {
            return from;
        }

        public EniState to() {
            return to;
        }
    }

    /** The state an ENI of {@code model} is created in. */
    public static Transition create(String eniId, EniModel model) {
        return new Transition(eniId, null, model == EniModel.SHARED ? EniState.CREATING : EniState.IN_USE);
    }

    public static Transition move(String eniId, EniState from, EniState to) {
        if (!NEXT.get(from).contains(to)) {
            throw new IllegalStateException("ENI " + eniId + " state " + from + " -> " + to + ": not a transition");
        }
        return new Transition(eniId, from, to);
    }
}
