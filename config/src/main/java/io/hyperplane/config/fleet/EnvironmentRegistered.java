package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * An execution environment as registered (HTTP 201): its VNI, and the first configuration version
 * that has it as asked.
 */
public record EnvironmentRegistered(String id, @JsonProperty(required = true) long vni, @JsonProperty(required = true) long configVersion) {
    public EnvironmentRegistered {
        Check.name(id, "registered environment", "id");
        Check.atLeast(vni, 1, "registered environment " + id, "vni");
        Check.atLeast(configVersion, 0, "registered environment " + id, "configVersion");
    }
}
