package io.hyperplane.control.ec2;

import io.hyperplane.control.iam.Wildcard;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * EC2 Describe filters ("Filter.N.Name", "Filter.N.Value.M"): a resource matches when, for every
 * filter, one of its values matches one of the filter's values (AND across filters, OR within one).
 * Values may use the wildcards * and ?. "tag:KEY" and "tag-key" apply to every resource type.
 * <p>
 * A caller's pattern is matched in time linear in the pattern times the value, never by a
 * backtracking regular expression: "*a*a*a*a*b" against a 256-character tag value took a regex 39 s
 * of a request thread, and a few more stars take hours (DESIGN.md §9, every tenant is hostile).
 */
final class Filters {
    record Filter(String name, List<String> values) {
    }

    private final List<Filter> filters;

    private Filters(List<Filter> filters) {
        this.filters = filters;
    }

    static Filters parse(QueryParams params, Set<String> supported) {
        List<Filter> parsed = params.structures("Filter").stream().map(f -> {
            String name = f.get("Name");
            if (name == null) {
                throw Ec2Error.missing("Filter.N.Name");
            }
            if (!supported.contains(name) && !name.startsWith("tag:") && !name.equals("tag-key")) {
                throw Ec2Error.client("InvalidParameterValue", "The filter '" + name + "' is invalid");
            }
            return new Filter(name, f.list("Value"));
        }).toList();
        return new Filters(parsed);
    }

    /** Whether a resource matches; {@code attribute} gives the resource's values for a filter name. */
    boolean matches(Function<String, List<String>> attribute, Map<String, String> tags) {
        for (Filter filter : filters) {
            List<String> actual;
            if (filter.name().startsWith("tag:")) {
                String value = tags.get(filter.name().substring(4));
                actual = value == null ? List.of() : List.of(value);
            } else if (filter.name().equals("tag-key")) {
                actual = List.copyOf(tags.keySet());
            } else {
                actual = attribute.apply(filter.name());
            }
            boolean any = false;
            for (String value : actual) {
                for (String glob : filter.values()) {
                    if (globMatches(glob, value)) {
                        any = true;
                        break;
                    }
                }
            }
            if (!any) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code text} matches {@code glob} (* any run of characters, ? any one; case as
     * given): IAM's wildcard matcher, one pass over the text whatever the glob, since filters come
     * from tenants.
     */
    static boolean globMatches(String glob, String text) {
        return Wildcard.of(glob).matches(text);
    }
}
