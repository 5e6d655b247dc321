package io.hyperplane.sigv4;

/**
 * The scope a signature is bound to, {@code date/region/service/aws4_request} (AWS IAM User Guide,
 * "Elements of an AWS API request signature", Credential). Holds what the client sent, checked or
 * not: {@link SigV4Verifier} decides whether it is acceptable.
 */
record CredentialScope(String date, String region, String service, String terminator) {
    /** The only terminator SigV4 defines. */
    static final String TERMINATOR = "aws4_request";

    CredentialScope {
        if (date == null || region == null || service == null || terminator == null) {
            throw new IllegalArgumentException("credential scope: no element may be null, got "
                    + date + "/" + region + "/" + service + "/" + terminator);
        }
    }

    /** The scope as it appears in the Credential parameter and the string to sign. */
    String value() {
        return date + "/" + region + "/" + service + "/" + terminator;
    }
}
