package io.hyperplane.control.eni;

import java.util.UUID;

/**
 * The two ways Lambda has given functions a network ({@code network_interfaces.model}): one shared
 * Hyperplane ENI per (account, subnet, sorted security-group set) since 2019, or, kept to measure
 * against, one ENI per execution environment made during its cold start.
 */
public enum EniModel {
    SHARED("shared"),
    LEGACY("legacy");

    private final String stored;

    EniModel(String stored) {
        this.stored = stored;
    }

    public String stored() {
        return stored;
    }

    public static EniModel ofStored(String model) {
        for (EniModel m : values()) {
            if (m.stored.equals(model)) {
                return m;
            }
        }
        throw new IllegalArgumentException("ENI model '" + model + "': expected shared or legacy");
    }

    /** The description EC2 shows, as Lambda words it for the ENIs it makes. */
    String description(String functionName) {
        return switch (this) {
            case SHARED -> "AWS Lambda VPC ENI-" + functionName + "-" + UUID.randomUUID();
            case LEGACY -> "AWS Lambda VPC ENI (legacy, one per environment)-" + functionName;
        };
    }
}
