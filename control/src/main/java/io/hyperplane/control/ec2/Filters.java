package io.hyperplane.control.ec2;

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
     * Whether {@code text} matches {@code glob} (* any run of characters, ? any one), in at most
     * |glob| x |text| steps: on a mismatch only the most recent star takes one more character
     * (an earlier star can never do better, since the later one absorbs anything it could).
     */
    static boolean globMatches(String glob, String text) {
        int g = 0;
        int t = 0;
        int star = -1; // the most recent star in glob
        int resume = 0; // where in text the part after that star is tried next
        while (t < text.length()) {
            if (g < glob.length() && (glob.charAt(g) == '?' || glob.charAt(g) == text.charAt(t))) {
                g++;
                t++;
            } else if (g < glob.length() && glob.charAt(g) == '*') {
                star = g++;
                resume = t;
            } else if (star >= 0) {
                g = star + 1;
                t = ++resume;
            } else {
                return false;
            }
        }
        while (g < glob.length() && glob.charAt(g) == '*') {
            g++;
        }
        return g == glob.length();
    }
}
