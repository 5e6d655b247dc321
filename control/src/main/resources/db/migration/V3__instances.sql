-- Instances: a host in a subnet with a private address. Terminated instances stay visible, as on
-- EC2, but hold no address and no dependencies.
CREATE TABLE instances (
    id             VARCHAR(32)   PRIMARY KEY,
    account_id     VARCHAR(12)   NOT NULL REFERENCES accounts (id),
    reservation_id VARCHAR(32)   NOT NULL,
    vpc_id         VARCHAR(32)   NOT NULL,
    subnet_id      VARCHAR(32)   NOT NULL,
    private_ip     VARCHAR(15),
    image_id       VARCHAR(64)   NOT NULL,
    instance_type  VARCHAR(32)   NOT NULL,
    user_data      TEXT,
    state          VARCHAR(16)   NOT NULL,
    launched_at    TIMESTAMP     NOT NULL
);
CREATE INDEX instances_subnet ON instances (subnet_id);

CREATE TABLE instance_security_groups (
    instance_id  VARCHAR(32)  NOT NULL REFERENCES instances (id),
    group_id     VARCHAR(32)  NOT NULL,
    PRIMARY KEY (instance_id, group_id)
);
