-- A function's asynchronous invocation settings (Put/UpdateFunctionEventInvokeConfig), one row per
-- function and qualifier ($LATEST or a version number). No row: Lambda's defaults (2 retries, 6 hours).
-- PutFunctionEventInvokeConfig stores what the caller set and nothing more: Lambda answers Get
-- without MaximumRetryAttempts or MaximumEventAgeInSeconds when they were not set, so NULL means
-- not set and Lambda's default applies.
-- Destinations are ARNs; only Lambda functions are accepted (this system has no SQS, SNS, EventBridge or S3).
-- A configuration belongs to one version: deleting the version (or the function, which deletes
-- every version) deletes it, as DeleteFunction with a Qualifier does on Lambda.
CREATE TABLE function_event_invoke_configs (
    account_id                   VARCHAR(12)    NOT NULL,
    function_name                VARCHAR(64)    NOT NULL,
    qualifier                    VARCHAR(16)    NOT NULL,
    maximum_retry_attempts       INTEGER,
    maximum_event_age_seconds    INTEGER,
    on_success                   VARCHAR(350),
    on_failure                   VARCHAR(350),
    last_modified                TIMESTAMP      NOT NULL,
    PRIMARY KEY (account_id, function_name, qualifier),
    CONSTRAINT function_event_invoke_configs_version FOREIGN KEY (account_id, function_name, qualifier)
        REFERENCES function_versions (account_id, function_name, version) ON DELETE CASCADE
);
