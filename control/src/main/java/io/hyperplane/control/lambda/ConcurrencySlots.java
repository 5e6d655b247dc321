package io.hyperplane.control.lambda;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Invocations in flight per concurrency slot: an account's unreserved share ("account") or a
 * function's reserved concurrency ("account/function"). A slot is in the map only while something
 * runs in it: the last release removes it, so a server that has run every function of every
 * account once holds nothing for them once they are idle or deleted.
 */
final class ConcurrencySlots {
    private final Map<String, Integer> inFlight = new ConcurrentHashMap<>();

    /** Takes a place in {@code slot}; throws Lambda's throttle when {@code limit} are already in flight. */
    void acquire(String slot, int limit) {
        inFlight.compute(slot, (k, n) -> {
            int running = n == null ? 0 : n;
            if (running >= limit) {
                throw new LambdaError("TooManyRequestsException", 429, "Rate Exceeded.");
            }
            return running + 1;
        });
    }

    /** Gives back a place taken by {@link #acquire}. */
    void release(String slot) {
        inFlight.computeIfPresent(slot, (k, n) -> n == 1 ? null : n - 1);
    }

    int inFlight(String slot) {
        return inFlight.getOrDefault(slot, 0);
    }

    /** How many slots have something in flight: the map's size. */
    int slotsInUse() {
        return inFlight.size();
    }
}
