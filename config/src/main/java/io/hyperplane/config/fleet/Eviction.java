package io.hyperplane.config.fleet;

/**
 * The control plane telling a worker that a function was deleted ({@code POST /evict}): its idle
 * environments end now, busy ones when their invocation is done. Answered with {@link Evicted}.
 */
public record Eviction(String accountId, String functionName) {
    public Eviction {
        Check.text(accountId, "eviction", "accountId");
        Check.text(functionName, "eviction", "functionName");
    }
}
