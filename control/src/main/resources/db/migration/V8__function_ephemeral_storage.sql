-- EphemeralStorage: the size in MB of a function version's /tmp (Lambda: 512 to 10,240). Versions
-- stored before it existed were shown with Lambda's default, 512, and keep it.
ALTER TABLE function_versions ADD COLUMN ephemeral_storage_mb INTEGER DEFAULT 512 NOT NULL;
