package io.hyperplane.sigv4;

/**
 * An access key: its id, the secret that signs with it, and the account that owns it. The secret
 * never appears in {@link #toString()}, so a logged credential gives nothing away.
 */
public record Credential(String accessKeyId, String secretAccessKey, String accountId) {

    public Credential {
        if (accessKeyId == null || accessKeyId.isBlank()) {
            throw new IllegalArgumentException("accessKeyId must not be blank");
        }
        if (secretAccessKey == null || secretAccessKey.isEmpty()) {
            throw new IllegalArgumentException("access key " + accessKeyId + ": secretAccessKey must not be empty");
        }
        if (accountId == null || accountId.isBlank()) {
            throw new IllegalArgumentException("access key " + accessKeyId + ": accountId must not be blank");
        }
    }

    @Override
    public String toString() {
        return "Credential[accessKeyId=" + accessKeyId + ", secretAccessKey=<redacted>, accountId=" + accountId + "]";
    }
}
