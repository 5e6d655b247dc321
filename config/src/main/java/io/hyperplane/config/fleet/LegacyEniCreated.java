package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A legacy ENI as created (HTTP 201).
 *
 * @param throttled    whether the creation found EC2's bucket empty and waited
 * @param createMillis how long the creation took
 */
public record LegacyEniCreated(String eniId, String ip, @JsonProperty(required = true) boolean throttled,
                               @JsonProperty(required = true) long createMillis) {
    public LegacyEniCreated {
        Check.text(eniId, "legacy ENI", "eniId");
        Check.ipv4(ip, "legacy ENI " + eniId, "ip");
        Check.atLeast(createMillis, 0, "legacy ENI " + eniId, "createMillis");
    }
}
