package io.hyperplane.config.fleet;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.OptionalLong;

/**
 * An {@link EnvironmentRegistration} on the worker's stream ({@code WS /hyperplane/v1/workers/NAME/stream}),
 * where requests are answered in any order, each by its {@code id}, with a {@link RegistrationAnswer}.
 *
 * @param waitForNodes answer only once every live node runs a configuration that has the
 *                     environment (a cold start waits for this); false when left out
 */
public record RegistrationRequest(long id, EnvironmentRegistration register, boolean waitForNodes) {
    public RegistrationRequest {
        Check.present(register, "registration request " + id, "register");
    }

    /** As read from the wire, where a request that does not wait may leave {@code waitForNodes} out. */
    @JsonCreator
    static RegistrationRequest read(@JsonProperty(value = "id", required = true) long id, @JsonProperty("register") EnvironmentRegistration register,
                                    @JsonProperty("waitForNodes") Boolean waitForNodes) {
        return new RegistrationRequest(id, register, Boolean.TRUE.equals(waitForNodes));
    }

    /**
     * The id of a request that could not be read whole (its registration was refused, say), so
     * that it can still be answered, with a 400; empty when even the id cannot be read.
     */
    public static OptionalLong idOf(String text) {
        try {
            return OptionalLong.of(FleetJson.decode(text, Id.class).id());
        } catch (IllegalArgumentException e) {
            return OptionalLong.empty();
        }
    }

    /** Just a request's id. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Id(@JsonProperty(required = true) long id) {
    }
}
