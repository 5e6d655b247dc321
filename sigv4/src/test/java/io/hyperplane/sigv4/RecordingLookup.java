package io.hyperplane.sigv4;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** A credential store over fixed keys that records every id it was asked for. */
final class RecordingLookup implements CredentialLookup {
    final List<String> lookedUp = new ArrayList<>();
    private final Map<String, Credential> keys;

    RecordingLookup(Credential... keys) {
        this.keys = Arrays.stream(keys).collect(Collectors.toMap(Credential::accessKeyId, Function.identity()));
    }

    @Override
    public Optional<Credential> find(String accessKeyId) {
        lookedUp.add(accessKeyId);
        return Optional.ofNullable(keys.get(accessKeyId));
    }
}
