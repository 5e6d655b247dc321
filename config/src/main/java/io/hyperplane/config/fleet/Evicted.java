package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A worker's answer to an {@link Eviction}: how many idle environments it ended. */
public record Evicted(@JsonProperty(required = true) int ended) {
    public Evicted {
        Check.atLeast(ended, 0, "evicted", "ended");
    }
}
