package io.hyperplane.sigv4;

/**
 * The parameters of an {@code AWS4-HMAC-SHA256} Authorization header, each null when absent:
 * <pre>
 * AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa0...
 * </pre>
 * Parameters are comma-separated {@code key=value} pairs with optional whitespace around them
 * (AWS IAM User Guide, "Elements of an AWS API request signature"). Unknown keys are ignored, as
 * AWS does. A repeated key is refused rather than resolved: two readers of one header should not
 * be able to disagree about which Signature it carries.
 */
record AuthorizationHeader(String credential, String signedHeaders, String signature) {
    static final String ALGORITHM = "AWS4-HMAC-SHA256";

    static AuthorizationHeader parse(String header) throws Rejection {
        String value = header.trim();
        int end = 0;
        while (end < value.length() && !isSpace(value.charAt(end))) {
            end++;
        }
        String algorithm = value.substring(0, end);
        if (!algorithm.equals(ALGORITHM)) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE,
                    "Unsupported AWS 'algorithm': '" + algorithm + "' (only " + ALGORITHM + " for now).");
        }
        String credential = null;
        String signedHeaders = null;
        String signature = null;
        for (String pair : value.substring(end).split(",", -1)) {
            String parameter = pair.trim();
            if (parameter.isEmpty()) {
                continue;
            }
            int equals = parameter.indexOf('=');
            if (equals < 0) {
                throw new Rejection(Failure.INCOMPLETE_SIGNATURE, "'" + parameter
                        + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" + value + "'");
            }
            String key = parameter.substring(0, equals).trim();
            String parameterValue = parameter.substring(equals + 1).trim();
            switch (key) {
                case "Credential" -> credential = once(key, credential, parameterValue);
                case "SignedHeaders" -> signedHeaders = once(key, signedHeaders, parameterValue);
                case "Signature" -> signature = once(key, signature, parameterValue);
                default -> {
                    // Unknown parameters are not signed over and change nothing; AWS ignores them too.
                }
            }
        }
        return new AuthorizationHeader(credential, signedHeaders, signature);
    }

    private static String once(String key, String previous, String value) throws Rejection {
        if (previous != null) {
            throw new Rejection(Failure.INCOMPLETE_SIGNATURE,
                    "Authorization header has more than one '" + key + "' parameter.");
        }
        return value;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }
}
