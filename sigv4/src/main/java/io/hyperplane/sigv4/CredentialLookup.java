package io.hyperplane.sigv4;

import java.util.Optional;

/** Resolves an access key id to its secret and owning account; empty when unknown. */
@FunctionalInterface
public interface CredentialLookup {
    /** Never called with anything but a well-formed access key id (word characters, at most 128). */
    Optional<Credential> find(String accessKeyId);
}
