-- Lambda functions. One row per function holds its lifecycle (State, LastUpdateStatus, idle clock);
-- its configurations ($LATEST and published versions) are rows of function_versions.
CREATE TABLE functions (
    account_id               VARCHAR(12)    NOT NULL REFERENCES accounts (id),
    name                     VARCHAR(64)    NOT NULL,
    state                    VARCHAR(16)    NOT NULL,
    state_reason             VARCHAR(1024),
    state_reason_code        VARCHAR(64),
    last_update_status       VARCHAR(16)    NOT NULL,
    last_update_reason       VARCHAR(1024),
    last_update_reason_code  VARCHAR(64),
    pending_since            TIMESTAMP,
    reserved_concurrency     INTEGER,
    last_invoked_at          TIMESTAMP      NOT NULL,
    next_version             INTEGER        NOT NULL,
    created_at               TIMESTAMP      NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE function_versions (
    account_id       VARCHAR(12)    NOT NULL,
    function_name    VARCHAR(64)    NOT NULL,
    version          VARCHAR(16)    NOT NULL,
    runtime          VARCHAR(32),
    handler          VARCHAR(128),
    role             VARCHAR(2048)  NOT NULL,
    description      VARCHAR(256)   NOT NULL,
    timeout_seconds  INTEGER        NOT NULL,
    memory_mb        INTEGER        NOT NULL,
    environment      TEXT,
    code_base64      TEXT           NOT NULL,
    code_sha256      VARCHAR(64)    NOT NULL,
    code_size        BIGINT         NOT NULL,
    subnet_ids       VARCHAR(1024)  NOT NULL,
    security_group_ids VARCHAR(512) NOT NULL,
    vpc_id           VARCHAR(32),
    revision_id      VARCHAR(36)    NOT NULL,
    last_modified    TIMESTAMP      NOT NULL,
    PRIMARY KEY (account_id, function_name, version)
);

-- Hyperplane ENIs: one per (account, subnet, sorted security-group set), shared by every function
-- and version with that key. status: creating (address taken, being programmed into the nodes),
-- in-use (every live node has it), and unused_since is set while nothing uses it (deleted after the
-- grace period).
CREATE TABLE network_interfaces (
    id            VARCHAR(32)   PRIMARY KEY,
    account_id    VARCHAR(12)   NOT NULL REFERENCES accounts (id),
    vpc_id        VARCHAR(32)   NOT NULL,
    subnet_id     VARCHAR(32)   NOT NULL,
    group_key     VARCHAR(512)  NOT NULL,
    private_ip    VARCHAR(15)   NOT NULL,
    mac           VARCHAR(17)   NOT NULL,
    status        VARCHAR(16)   NOT NULL,
    description   VARCHAR(255)  NOT NULL,
    unused_since  TIMESTAMP,
    created_at    TIMESTAMP     NOT NULL,
    UNIQUE (account_id, subnet_id, group_key),
    UNIQUE (subnet_id, private_ip)
);

CREATE TABLE network_interface_groups (
    eni_id    VARCHAR(32)  NOT NULL REFERENCES network_interfaces (id),
    group_id  VARCHAR(32)  NOT NULL,
    PRIMARY KEY (eni_id, group_id)
);

-- The ENIs a function version runs on now: switched only when a new configuration is ready, so
-- invokes keep the old configuration while an update is in progress.
CREATE TABLE function_enis (
    account_id     VARCHAR(12)  NOT NULL,
    function_name  VARCHAR(64)  NOT NULL,
    version        VARCHAR(16)  NOT NULL,
    eni_id         VARCHAR(32)  NOT NULL REFERENCES network_interfaces (id),
    PRIMARY KEY (account_id, function_name, version, eni_id)
);

-- Execution environments tunnelled to the nodes (registered by workers): each has its own VNI.
CREATE TABLE execution_environments (
    id            VARCHAR(64)   PRIMARY KEY,
    vni           INTEGER       NOT NULL UNIQUE,
    host_ip       VARCHAR(15)   NOT NULL,
    ip            VARCHAR(15)   NOT NULL,
    mac           VARCHAR(17)   NOT NULL,
    eni_id        VARCHAR(32)   NOT NULL REFERENCES network_interfaces (id),
    created_at    TIMESTAMP     NOT NULL
);

-- Node configuration versions only ever grow, across restarts too.
INSERT INTO allocators (name, next_value) VALUES ('node-config', 1);
-- ENI MACs: 02:48:50 (locally administered) + a counter.
INSERT INTO allocators (name, next_value) VALUES ('eni-mac', 4096);
-- Execution environment VNIs, far above the subnets' (1001 and up).
INSERT INTO allocators (name, next_value) VALUES ('ee-vni', 100000);
