package io.hyperplane.control.ec2;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * EC2 Describe filters ("Filter.N.Name", "Filter.N.Value.M"): a resource matches when, for every
 * filter, one of its values matches one of the filter's values (AND across filters, OR within one).
 * Values may use the wildcards * and ?. "tag:KEY" and "tag-key" apply to every resource type.
 */
final class Filters {
    record Filter(String name, List<Pattern> values) {
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
            return new Filter(name, f.list("Value").stream().map(Filters::glob).toList());
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
                for (Pattern p : filter.values()) {
                    if (p.matcher(value).matches()) {
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

    private static Pattern glob(String value) {
        StringBuilder regex = new StringBuilder();
        for (char c : value.toCharArray()) {
            switch (c) {
                case '*' -> regex.append(".*");
                case '?' -> regex.append('.');
                default -> regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.toString());
    }
}
