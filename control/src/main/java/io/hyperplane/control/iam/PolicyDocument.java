package io.hyperplane.control.iam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An IAM policy document reduced to what permission checks need: statements of Effect, Action
 * (with * and ? wildcards, case-insensitive as IAM matches actions) and Resource. Parsing rejects
 * what IAM would call a malformed policy. Actions are matched by {@link Wildcard}, in one pass over
 * the action whatever a tenant writes in its policy.
 */
public record PolicyDocument(List<Statement> statements) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code services}: the Principal's Service entries (trust policies name who may assume a role). */
    public record Statement(boolean allow, List<Wildcard> actions, List<String> resources, List<String> services) {
        /** Whether one of the statement's actions names {@code action}, ignoring case (actions' patterns are kept lower case). */
        boolean matches(String action) {
            String folded = action.toLowerCase(Locale.ROOT);
            for (Wildcard w : actions) {
                if (w.matches(folded)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Parses a policy; throws IllegalArgumentException with IAM's wording when it is malformed. */
    public static PolicyDocument parse(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("Syntax errors in policy.");
        }
        if (root == null || !root.isObject() || !root.has("Statement")) {
            throw new IllegalArgumentException("Syntax errors in policy.");
        }
        JsonNode statements = root.get("Statement");
        List<Statement> out = new ArrayList<>();
        for (JsonNode s : statements.isArray() ? statements : List.of(statements)) {
            String effect = s.path("Effect").asText("");
            if (!effect.equals("Allow") && !effect.equals("Deny")) {
                throw new IllegalArgumentException("Policy statement must contain a valid Effect (Allow or Deny).");
            }
            List<Wildcard> actions = new ArrayList<>();
            for (String action : strings(s.get("Action"))) {
                actions.add(Wildcard.of(action.toLowerCase(Locale.ROOT)));
            }
            if (actions.isEmpty()) {
                throw new IllegalArgumentException("Policy statement must contain actions.");
            }
            JsonNode principal = s.get("Principal");
            List<String> services = principal == null ? List.of() : principal.isTextual() ? strings(principal) : strings(principal.get("Service"));
            out.add(new Statement(effect.equals("Allow"), actions, strings(s.get("Resource")), services));
        }
        return new PolicyDocument(out);
    }

    private static List<String> strings(JsonNode node) {
        List<String> out = new ArrayList<>();
        if (node == null) {
            return out;
        }
        if (node.isArray()) {
            node.forEach(n -> out.add(n.asText()));
        } else {
            out.add(node.asText());
        }
        return out;
    }
}
