-- Accounts own everything; every query filters by account so tenants never see each other.
CREATE TABLE accounts (
    id          VARCHAR(12)  PRIMARY KEY,
    created_at  TIMESTAMP    NOT NULL
);

CREATE TABLE access_keys (
    access_key_id  VARCHAR(32)  PRIMARY KEY,
    secret         VARCHAR(64)  NOT NULL,
    account_id     VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    created_at     TIMESTAMP    NOT NULL
);

CREATE TABLE vpcs (
    id          VARCHAR(32)  PRIMARY KEY,
    account_id  VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    cidr        VARCHAR(18)  NOT NULL,
    created_at  TIMESTAMP    NOT NULL
);
CREATE INDEX vpcs_account ON vpcs (account_id);

CREATE TABLE subnets (
    id                 VARCHAR(32)  PRIMARY KEY,
    account_id         VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    vpc_id             VARCHAR(32)  NOT NULL REFERENCES vpcs (id),
    cidr               VARCHAR(18)  NOT NULL,
    availability_zone  VARCHAR(32)  NOT NULL,
    vni                INTEGER      NOT NULL UNIQUE,
    created_at         TIMESTAMP    NOT NULL
);
CREATE INDEX subnets_vpc ON subnets (vpc_id);

-- Tags of any resource (EC2 CreateTags); removed with their resource.
CREATE TABLE tags (
    resource_id  VARCHAR(32)   NOT NULL,
    account_id   VARCHAR(12)   NOT NULL REFERENCES accounts (id),
    tag_key      VARCHAR(128)  NOT NULL,
    tag_value    VARCHAR(256)  NOT NULL,
    PRIMARY KEY (resource_id, tag_key)
);

-- Named counters, incremented under a row lock: portable across H2 and PostgreSQL.
CREATE TABLE allocators (
    name        VARCHAR(32)  PRIMARY KEY,
    next_value  BIGINT       NOT NULL
);
-- Subnet VNIs on the tunnels between forwarder nodes and VPCs (the lab's own subnets use 1001+ too,
-- but in separate namespaces).
INSERT INTO allocators (name, next_value) VALUES ('subnet-vni', 1001);
