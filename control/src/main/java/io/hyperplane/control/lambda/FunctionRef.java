package io.hyperplane.control.lambda;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A function as callers name it: a name, a partial ARN ({@code 123456789012:function:name}) or a
 * full ARN, each optionally with {@code :qualifier}; or a name with a separate Qualifier parameter.
 */
record FunctionRef(String name, String qualifier) {
    private static final Pattern REF = Pattern.compile(
            "(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:)?(?:(\\d{12}):)?(?:function:)?([a-zA-Z0-9_-]{1,64})(?::(\\$LATEST|[a-zA-Z0-9_-]{1,128}))?");

    static FunctionRef parse(String raw, String qualifierParameter, String account) {
        Matcher m = REF.matcher(raw == null ? "" : raw);
        if (!m.matches()) {
            throw LambdaError.validation(raw, "functionName", "Member must satisfy regular expression pattern: "
                    + "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
        }
        if (m.group(1) != null && !m.group(1).equals(account)) {
            throw new LambdaError("AccessDeniedException", 403, "The caller account " + account + " cannot access functions of account " + m.group(1));
        }
        String qualifier = m.group(3);
        if (qualifierParameter != null && !qualifierParameter.isEmpty()) {
            if (qualifier != null && !qualifier.equals(qualifierParameter)) {
                throw LambdaError.invalid("The derived qualifier from the function name does not match the specified qualifier.");
            }
            qualifier = qualifierParameter;
        }
        return new FunctionRef(m.group(2), qualifier);
    }

    String version() {
        return qualifier == null ? FunctionStore.LATEST : qualifier;
    }
}
