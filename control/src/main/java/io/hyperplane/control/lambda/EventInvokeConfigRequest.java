package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;
import io.hyperplane.control.lambda.EventInvokeConfigStore.Row;

import java.time.Instant;
import java.util.regex.Pattern;

import static io.hyperplane.control.lambda.EventInvokeConfig.MAX_EVENT_AGE_SECONDS;
import static io.hyperplane.control.lambda.EventInvokeConfig.MAX_RETRY_ATTEMPTS;
import static io.hyperplane.control.lambda.EventInvokeConfig.MIN_EVENT_AGE_SECONDS;

/**
 * Put- and UpdateFunctionEventInvokeConfig's request, checked as Lambda's request validation does:
 * a member not given is null; {@code destinationConfigGiven} says whether DestinationConfig was
 * (with neither destination, it still counts as a setting, as on Lambda). An empty Destination is
 * none. Which destinations this system accepts is {@link EventInvokeConfigApi}'s to decide: it
 * needs the store.
 */
record EventInvokeConfigRequest(Integer maximumRetryAttempts, Integer maximumEventAgeInSeconds, boolean destinationConfigGiven, String onSuccess,
                                String onFailure) {
    static final LambdaConstraints.Range RETRY_ATTEMPTS = new LambdaConstraints.Range(0, MAX_RETRY_ATTEMPTS, "maximumRetryAttempts");
    static final LambdaConstraints.Range EVENT_AGE = new LambdaConstraints.Range(MIN_EVENT_AGE_SECONDS, MAX_EVENT_AGE_SECONDS,
            "maximumEventAgeInSeconds");
    private static final int MAX_DESTINATION = 350; // the API model's DestinationArn
    /** The API model's DestinationArn pattern, as Lambda quotes it in its ValidationException. */
    private static final String DESTINATION_PATTERN =
            "$|kafka://([^.]([a-zA-Z0-9\\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)";
    private static final Pattern DESTINATION = Pattern.compile(DESTINATION_PATTERN);

    EventInvokeConfigRequest {
        RETRY_ATTEMPTS.check(maximumRetryAttempts);
        EVENT_AGE.check(maximumEventAgeInSeconds);
        onSuccess = destination(onSuccess, "destinationConfig.onSuccess.destination");
        onFailure = destination(onFailure, "destinationConfig.onFailure.destination");
        if (maximumRetryAttempts == null && maximumEventAgeInSeconds == null && !destinationConfigGiven) {
            throw LambdaError.invalid("You must specify at least one of error handling or destination setting.");
        }
    }

    static EventInvokeConfigRequest from(JsonNode body) {
        JsonNode destinations = body.get("DestinationConfig");
        boolean given = destinations != null && !destinations.isNull();
        return new EventInvokeConfigRequest(RETRY_ATTEMPTS.read(body, "MaximumRetryAttempts"), EVENT_AGE.read(body, "MaximumEventAgeInSeconds"),
                given, given ? destination(destinations, "OnSuccess") : null, given ? destination(destinations, "OnFailure") : null);
    }

    private static String destination(JsonNode destinations, String member) {
        JsonNode target = destinations.get(member);
        return target == null || target.isNull() ? null : JsonFields.text(target, "Destination");
    }

    /** The destination as the API model allows it, or null for none (absent or empty). */
    private static String destination(String arn, String member) {
        if (arn == null || arn.isEmpty()) {
            return null;
        }
        if (arn.length() > MAX_DESTINATION) {
            throw LambdaError.validation(arn, member, "Member must have length less than or equal to " + MAX_DESTINATION);
        }
        if (!DESTINATION.matcher(arn).matches()) {
            throw LambdaError.validation(arn, member, "Member must satisfy regular expression pattern: " + DESTINATION_PATTERN);
        }
        return arn;
    }

    /** PutFunctionEventInvokeConfig: the qualifier's whole configuration becomes this request's. */
    Row replacing(String qualifier, Instant now) {
        return new Row(qualifier, maximumRetryAttempts, maximumEventAgeInSeconds, onSuccess, onFailure, now);
    }

    /**
     * UpdateFunctionEventInvokeConfig: each member given replaces the existing one, the others stay;
     * a DestinationConfig given replaces both destinations.
     */
    Row mergedInto(Row existing, Instant now) {
        return new Row(existing.qualifier(), maximumRetryAttempts != null ? maximumRetryAttempts : existing.maximumRetryAttempts(),
                maximumEventAgeInSeconds != null ? maximumEventAgeInSeconds : existing.maximumEventAgeInSeconds(),
                destinationConfigGiven ? onSuccess : existing.onSuccess(), destinationConfigGiven ? onFailure : existing.onFailure(), now);
    }

    /** The DestinationConfig as Lambda names it in "The provided destination config ... is invalid." */
    String describeDestinations() {
        return "DestinationConfig(onSuccess=" + (onSuccess == null ? "null" : "OnSuccess(destination=" + onSuccess + ")")
                + ", onFailure=" + (onFailure == null ? "null" : "OnFailure(destination=" + onFailure + ")") + ")";
    }
}
