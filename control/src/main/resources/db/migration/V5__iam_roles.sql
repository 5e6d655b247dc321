-- IAM roles (per account), their attached managed policies and inline policies.
CREATE TABLE iam_roles (
    account_id          VARCHAR(12)    NOT NULL REFERENCES accounts (id),
    name                VARCHAR(64)    NOT NULL,
    role_id             VARCHAR(32)    NOT NULL UNIQUE,
    path                VARCHAR(512)   NOT NULL,
    description         VARCHAR(1000),
    assume_role_policy  TEXT           NOT NULL,
    created_at          TIMESTAMP      NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE iam_role_attached_policies (
    account_id  VARCHAR(12)   NOT NULL,
    role_name   VARCHAR(64)   NOT NULL,
    policy_arn  VARCHAR(512)  NOT NULL,
    PRIMARY KEY (account_id, role_name, policy_arn)
);

CREATE TABLE iam_role_inline_policies (
    account_id   VARCHAR(12)   NOT NULL,
    role_name    VARCHAR(64)   NOT NULL,
    policy_name  VARCHAR(128)  NOT NULL,
    document     TEXT          NOT NULL,
    PRIMARY KEY (account_id, role_name, policy_name)
);
