package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * The control plane's answer to a {@link RegistrationRequest}, with the status the same request
 * gets over HTTP, told apart by their fields:
 * <pre>
 *   {"id":N,"status":201,"vni":V,"configVersion":C}    registered
 *   {"id":N,"status":400|500|504,"message":".."}        refused: a bad request, the store failed,
 *                                                       or nodes did not apply it in time
 * </pre>
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.DEDUCTION)
@JsonSubTypes({@JsonSubTypes.Type(RegistrationAnswer.Registered.class), @JsonSubTypes.Type(RegistrationAnswer.Refused.class)})
public sealed interface RegistrationAnswer {
    /** The request this answers. */
    long id();

    record Registered(@JsonProperty(required = true) long id, @JsonProperty(required = true) int status,
                      @JsonProperty(required = true) long vni, @JsonProperty(required = true) long configVersion) implements RegistrationAnswer {
        /** HTTP's Created (RFC 9110 §15.3.2), as POST answers. */
        public static final int CREATED = 201;

        public Registered {
            if (status != CREATED) {
                throw new IllegalArgumentException("registration answer " + id + ": status " + status + " must be " + CREATED);
            }
            Check.atLeast(vni, 1, "registration answer " + id, "vni");
            Check.atLeast(configVersion, 0, "registration answer " + id, "configVersion");
        }

        public Registered(long id, EnvironmentRegistered registered) {
            this(id, CREATED, registered.vni(), registered.configVersion());
        }
    }

    record Refused(@JsonProperty(required = true) long id, @JsonProperty(required = true) int status, String message)
            implements RegistrationAnswer {
        public Refused {
            Check.errorStatus(status, "registration answer " + id);
            Check.text(message, "registration answer " + id, "message");
        }
    }
}
