-- Security groups: rules are stateful allows; a rule names a CIDR or another group.
CREATE TABLE security_groups (
    id           VARCHAR(32)   PRIMARY KEY,
    account_id   VARCHAR(12)   NOT NULL REFERENCES accounts (id),
    vpc_id       VARCHAR(32)   NOT NULL REFERENCES vpcs (id),
    name         VARCHAR(255)  NOT NULL,
    description  VARCHAR(255)  NOT NULL,
    is_default   BOOLEAN       NOT NULL,
    created_at   TIMESTAMP     NOT NULL,
    UNIQUE (vpc_id, name)
);

CREATE TABLE security_group_rules (
    id                   VARCHAR(32)  PRIMARY KEY,
    group_id             VARCHAR(32)  NOT NULL REFERENCES security_groups (id),
    egress               BOOLEAN      NOT NULL,
    protocol             VARCHAR(8)   NOT NULL,
    from_port            INTEGER      NOT NULL,
    to_port              INTEGER      NOT NULL,
    cidr                 VARCHAR(18),
    referenced_group_id  VARCHAR(32)  REFERENCES security_groups (id)
);
CREATE INDEX security_group_rules_group ON security_group_rules (group_id);

-- Network ACLs: numbered stateless rules per direction; each subnet is associated with one ACL.
CREATE TABLE network_acls (
    id          VARCHAR(32)  PRIMARY KEY,
    account_id  VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    vpc_id      VARCHAR(32)  NOT NULL REFERENCES vpcs (id),
    is_default  BOOLEAN      NOT NULL,
    created_at  TIMESTAMP    NOT NULL
);

CREATE TABLE network_acl_entries (
    acl_id       VARCHAR(32)  NOT NULL REFERENCES network_acls (id),
    egress       BOOLEAN      NOT NULL,
    rule_number  INTEGER      NOT NULL,
    protocol     VARCHAR(8)   NOT NULL,
    rule_action  VARCHAR(5)   NOT NULL,
    cidr         VARCHAR(18)  NOT NULL,
    from_port    INTEGER,
    to_port      INTEGER,
    icmp_type    INTEGER,
    icmp_code    INTEGER,
    PRIMARY KEY (acl_id, egress, rule_number)
);

CREATE TABLE network_acl_associations (
    id          VARCHAR(32)  PRIMARY KEY,
    acl_id      VARCHAR(32)  NOT NULL REFERENCES network_acls (id),
    subnet_id   VARCHAR(32)  NOT NULL UNIQUE REFERENCES subnets (id)
);

-- Route tables: the VPC's main table (with the undeletable local route) and custom ones.
CREATE TABLE route_tables (
    id          VARCHAR(32)  PRIMARY KEY,
    account_id  VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    vpc_id      VARCHAR(32)  NOT NULL REFERENCES vpcs (id),
    created_at  TIMESTAMP    NOT NULL
);

CREATE TABLE routes (
    route_table_id  VARCHAR(32)  NOT NULL REFERENCES route_tables (id),
    destination     VARCHAR(18)  NOT NULL,
    target          VARCHAR(64)  NOT NULL,
    origin          VARCHAR(32)  NOT NULL,
    PRIMARY KEY (route_table_id, destination)
);

-- One main association per VPC (subnet_id NULL), at most one explicit association per subnet.
CREATE TABLE route_table_associations (
    id              VARCHAR(32)  PRIMARY KEY,
    route_table_id  VARCHAR(32)  NOT NULL REFERENCES route_tables (id),
    subnet_id       VARCHAR(32)  UNIQUE REFERENCES subnets (id),
    is_main         BOOLEAN      NOT NULL
);
