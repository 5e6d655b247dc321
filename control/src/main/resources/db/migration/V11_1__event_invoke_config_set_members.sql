-- PutFunctionEventInvokeConfig stores what the caller set and nothing more: Lambda answers Get
-- without MaximumRetryAttempts or MaximumEventAgeInSeconds when they were not set, and Put
-- replaces the whole configuration. NULL: not set, Lambda's default applies (2 retries, 6 hours).
ALTER TABLE function_event_invoke_configs ALTER COLUMN maximum_retry_attempts DROP NOT NULL;
ALTER TABLE function_event_invoke_configs ALTER COLUMN maximum_event_age_seconds DROP NOT NULL;
-- A configuration belongs to one version ($LATEST or a number): deleting the version deletes it,
-- as DeleteFunction with a Qualifier does on Lambda. (Deleting the function deletes every version.)
ALTER TABLE function_event_invoke_configs ADD CONSTRAINT function_event_invoke_configs_version
    FOREIGN KEY (account_id, function_name, qualifier) REFERENCES function_versions (account_id, function_name, version) ON DELETE CASCADE;
