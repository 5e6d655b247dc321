package io.hyperplane.control.lambda;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * ListFunctions' and ListVersionsByFunction's query: MaxItems (1 to 10,000 in the API model; a
 * page holds at most 50), where the page starts (the position a Marker encodes), and, for
 * ListFunctions, FunctionVersion=ALL for every version rather than $LATEST alone.
 */
record ListRequest(int maxItems, int start, boolean allVersions) {
    private static final int MIN_ITEMS = 1;
    private static final int MAX_ITEMS = 10_000; // the API model's MaxListItems
    private static final int PAGE_LIMIT = 50; // Lambda answers at most 50 items per page

    ListRequest {
        if (maxItems < MIN_ITEMS || maxItems > MAX_ITEMS) {
            throw LambdaError.validation(Integer.toString(maxItems), "maxItems", "Member must have value between " + MIN_ITEMS + " and " + MAX_ITEMS);
        }
    }

    static ListRequest from(Map<String, String> query) {
        return new ListRequest(query.containsKey("MaxItems") ? number(query.get("MaxItems")) : PAGE_LIMIT, marker(query.get("Marker")),
                "ALL".equals(query.get("FunctionVersion")));
    }

    /** How many items this page has at most. */
    int pageSize() {
        return Math.min(maxItems, PAGE_LIMIT);
    }

    /** The Marker that makes the next page start at {@code position}. */
    static String markerAt(int position) {
        return Base64.getEncoder().encodeToString(Integer.toString(position).getBytes(StandardCharsets.UTF_8));
    }

    private static int number(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw LambdaError.validation(value, "maxItems", "Member must be a number");
        }
    }

    private static int marker(String marker) {
        if (marker == null || marker.isEmpty()) {
            return 0;
        }
        try {
            return Integer.parseInt(new String(Base64.getDecoder().decode(marker), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw LambdaError.invalid("Invalid Marker: " + marker);
        }
    }
}
