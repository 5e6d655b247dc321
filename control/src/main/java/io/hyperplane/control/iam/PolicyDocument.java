package io.hyperplane.control.iam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An IAM policy document reduced to what permission checks need: statements of Effect, Action
 * (with * and ? wildcards, case-insensitive as IAM matches actions) and Resource. Parsing rejects
 * what IAM would call a malformed policy.
 */
public record PolicyDocument(List<Statement> statements) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code services}: the Principal's Service entries (trust policies name who may assume a role). */
    public record Statement(boolean allow, List<Pattern> actions, List<String> resources, List<String> services) {
        boolean matches(String action) {
            for (Pattern p : actions) {
                if (p.matcher(action.toLowerCase(Locale.ROOT)).matches()) {
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
            List<Pattern> actions = new ArrayList<>();
            for (String action : strings(s.get("Action"))) {
                actions.add(glob(action.toLowerCase(Locale.ROOT)));
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

    private static Pattern glob(String text) {
        StringBuilder regex = new StringBuilder();
        for (char c : text.toCharArray()) {
            regex.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
        }
        return Pattern.compile(regex.toString());
    }
}
