-- A worker prepares execution environments' networks ahead of need (namespace, tunnel, VNI) and
-- binds one to a function's ENI at a cold start: until then the environment has no ENI and no
-- node forwards for it.
ALTER TABLE execution_environments ALTER COLUMN eni_id DROP NOT NULL;
