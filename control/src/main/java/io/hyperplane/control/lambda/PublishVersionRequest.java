package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * PublishVersion's request: the CodeSha256 and RevisionId $LATEST must still have, if given, and
 * the version's description (null: $LATEST's).
 */
record PublishVersionRequest(String codeSha256, String description, String revisionId) {
    PublishVersionRequest {
        LambdaConstraints.description(description);
    }

    static PublishVersionRequest from(JsonNode body) {
        return new PublishVersionRequest(JsonFields.text(body, "CodeSha256"), JsonFields.text(body, "Description"),
                JsonFields.text(body, "RevisionId"));
    }
}
