package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

/** PutFunctionConcurrency's request: how many of the account's concurrent executions the function reserves. */
record ConcurrencyRequest(int reservedConcurrentExecutions) {
    ConcurrencyRequest {
        if (reservedConcurrentExecutions < 0) {
            throw LambdaError.validation(Integer.toString(reservedConcurrentExecutions), "reservedConcurrentExecutions",
                    "Member must have value greater than or equal to 0");
        }
    }

    static ConcurrencyRequest from(JsonNode body) {
        JsonNode value = body.get("ReservedConcurrentExecutions");
        if (value == null || !value.canConvertToInt()) {
            throw LambdaError.validation(String.valueOf(value), "reservedConcurrentExecutions", "Member must not be null");
        }
        return new ConcurrencyRequest(value.asInt());
    }
}
