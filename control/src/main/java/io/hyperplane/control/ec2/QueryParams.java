package io.hyperplane.control.ec2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The parameters of one EC2 Query request, with its conventions for lists: "VpcId.1", "VpcId.2",
 * and structures "Filter.1.Name", "Filter.1.Value.1" (EC2 API reference, "Query parameters").
 */
final class QueryParams {
    private final Map<String, String> values;

    QueryParams(Map<String, String> values) {
        this.values = values;
    }

    String get(String name) {
        return values.get(name);
    }

    String required(String name) {
        String value = values.get(name);
        if (value == null || value.isEmpty()) {
            throw Ec2Error.missing(name);
        }
        return value;
    }

    /** The values of "prefix.1", "prefix.2", ... in index order. */
    List<String> list(String prefix) {
        TreeMap<Integer, String> byIndex = new TreeMap<>();
        String start = prefix + ".";
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (e.getKey().startsWith(start)) {
                Integer index = index(e.getKey().substring(start.length()));
                if (index != null) {
                    byIndex.put(index, e.getValue());
                }
            }
        }
        return new ArrayList<>(byIndex.values());
    }

    /** Sub-parameters of "prefix.N.*", one map (keyed by the rest of the name) per N, in index order. */
    List<QueryParams> structures(String prefix) {
        TreeMap<Integer, Map<String, String>> byIndex = new TreeMap<>();
        String start = prefix + ".";
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (!e.getKey().startsWith(start)) {
                continue;
            }
            String rest = e.getKey().substring(start.length());
            int dot = rest.indexOf('.');
            if (dot < 0) {
                continue;
            }
            Integer index = index(rest.substring(0, dot));
            if (index != null) {
                byIndex.computeIfAbsent(index, i -> new LinkedHashMap<>()).put(rest.substring(dot + 1), e.getValue());
            }
        }
        return byIndex.values().stream().map(QueryParams::new).toList();
    }

    private static Integer index(String text) {
        try {
            int i = Integer.parseInt(text);
            return i >= 1 ? i : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
