package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.control.lambda.EventInvokeConfigStore.Row;

import java.math.BigDecimal;

/**
 * FunctionEventInvokeConfig (API 2019-09-25) as Lambda writes it: LastModified in epoch seconds
 * (a JSON number with milliseconds, the rest-json protocol's timestamp), the qualified FunctionArn,
 * only the members that were set, and DestinationConfig always, with an empty object for a side
 * without a destination.
 */
final class EventInvokeConfigRenderer {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final int MILLIS_SCALE = 3; // LastModified: seconds with three decimals, as Lambda answers

    private EventInvokeConfigRenderer() {
    }

    static ObjectNode config(String region, String account, String function, Row row) {
        ObjectNode o = NODES.objectNode();
        o.put("LastModified", BigDecimal.valueOf(row.lastModified().toEpochMilli(), MILLIS_SCALE));
        o.put("FunctionArn", LambdaApi.arn(region, account, function) + ":" + row.qualifier());
        if (row.maximumRetryAttempts() != null) {
            o.put("MaximumRetryAttempts", row.maximumRetryAttempts());
        }
        if (row.maximumEventAgeInSeconds() != null) {
            o.put("MaximumEventAgeInSeconds", row.maximumEventAgeInSeconds());
        }
        ObjectNode destinations = o.putObject("DestinationConfig");
        ObjectNode onSuccess = destinations.putObject("OnSuccess");
        if (row.onSuccess() != null) {
            onSuccess.put("Destination", row.onSuccess());
        }
        ObjectNode onFailure = destinations.putObject("OnFailure");
        if (row.onFailure() != null) {
            onFailure.put("Destination", row.onFailure());
        }
        return o;
    }
}
