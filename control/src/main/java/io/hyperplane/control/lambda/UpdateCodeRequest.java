package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Objects;

/** UpdateFunctionCode's request: the new zip, and whether to only check it (DryRun) or publish it too. */
record UpdateCodeRequest(FunctionCode code, boolean dryRun, boolean publish, String revisionId) {
    UpdateCodeRequest {
        Objects.requireNonNull(code, "code");
    }

    static UpdateCodeRequest from(JsonNode body) {
        return new UpdateCodeRequest(FunctionCode.from(body), body.path("DryRun").asBoolean(false), body.path("Publish").asBoolean(false),
                JsonFields.text(body, "RevisionId"));
    }
}
