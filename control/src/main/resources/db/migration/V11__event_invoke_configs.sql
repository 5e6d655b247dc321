-- A function's asynchronous invocation settings (Put/UpdateFunctionEventInvokeConfig), one row per
-- function and qualifier ($LATEST or a version number). No row: Lambda's defaults (2 retries, 6 hours).
-- Destinations are ARNs; only Lambda functions are accepted (this system has no SQS, SNS, EventBridge or S3).
CREATE TABLE function_event_invoke_configs (
    account_id                   VARCHAR(12)    NOT NULL,
    function_name                VARCHAR(64)    NOT NULL,
    qualifier                    VARCHAR(16)    NOT NULL,
    maximum_retry_attempts       INTEGER        NOT NULL,
    maximum_event_age_seconds    INTEGER        NOT NULL,
    on_success                   VARCHAR(350),
    on_failure                   VARCHAR(350),
    last_modified                TIMESTAMP      NOT NULL,
    PRIMARY KEY (account_id, function_name, qualifier),
    FOREIGN KEY (account_id, function_name) REFERENCES functions (account_id, name) ON DELETE CASCADE
);
