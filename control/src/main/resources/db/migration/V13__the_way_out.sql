-- The way out (issue 16): internet gateways, Elastic IPs, NAT gateways, instances' public
-- addresses, and the VPC and subnet attributes that go with them.

-- An internet gateway is attached to at most one VPC, and a VPC has at most one (vpc_id UNIQUE;
-- NULL while detached, and NULLs never collide).
CREATE TABLE internet_gateways (
    id          VARCHAR(32)  PRIMARY KEY,
    account_id  VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    vpc_id      VARCHAR(32)  UNIQUE REFERENCES vpcs (id),
    created_at  TIMESTAMP    NOT NULL
);
CREATE INDEX internet_gateways_account ON internet_gateways (account_id);

-- Elastic IPs: one public range for every account (public_ip UNIQUE). While associated, with an
-- instance (instance_id) or a network interface (a Lambda ENI or a NAT gateway's), private_ip is
-- the address the internet gateway maps it to.
CREATE TABLE elastic_ips (
    allocation_id         VARCHAR(32)  PRIMARY KEY,
    account_id            VARCHAR(12)  NOT NULL REFERENCES accounts (id),
    public_ip             VARCHAR(15)  NOT NULL UNIQUE,
    association_id        VARCHAR(32)  UNIQUE,
    instance_id           VARCHAR(32),
    network_interface_id  VARCHAR(32),
    private_ip            VARCHAR(15),
    created_at            TIMESTAMP    NOT NULL
);
CREATE INDEX elastic_ips_account ON elastic_ips (account_id);

-- NAT gateways: pending -> available -> deleting -> deleted (or failed), kept an hour once deleted
-- or failed, as EC2 shows them. No foreign key to the subnet or VPC: a deleted gateway outlives
-- them. private_ip and mac are held from creation until deleted or failed.
CREATE TABLE nat_gateways (
    id                 VARCHAR(32)   PRIMARY KEY,
    account_id         VARCHAR(12)   NOT NULL REFERENCES accounts (id),
    vpc_id             VARCHAR(32)   NOT NULL,
    subnet_id          VARCHAR(32)   NOT NULL,
    connectivity_type  VARCHAR(8)    NOT NULL,
    state              VARCHAR(10)   NOT NULL,
    allocation_id      VARCHAR(32),
    association_id     VARCHAR(32),
    public_ip          VARCHAR(15),
    private_ip         VARCHAR(15),
    mac                VARCHAR(17)   UNIQUE,
    eni_id             VARCHAR(32)   NOT NULL,
    client_token       VARCHAR(64),
    failure_code       VARCHAR(64),
    failure_message    VARCHAR(255),
    created_at         TIMESTAMP     NOT NULL,
    deleted_at         TIMESTAMP
);
CREATE INDEX nat_gateways_account ON nat_gateways (account_id);
CREATE INDEX nat_gateways_state ON nat_gateways (state);

-- An instance's auto-assigned public address (MapPublicIpOnLaunch / AssociatePublicIpAddress),
-- from the same range as Elastic IPs, held until it terminates.
ALTER TABLE instances ADD COLUMN public_ip VARCHAR(15);
ALTER TABLE instances ADD CONSTRAINT instances_public_ip_unique UNIQUE (public_ip);

ALTER TABLE subnets ADD COLUMN map_public_ip_on_launch BOOLEAN DEFAULT FALSE NOT NULL;

-- ModifyVpcAttribute: AWS's defaults for a VPC made by CreateVpc.
ALTER TABLE vpcs ADD COLUMN enable_dns_support BOOLEAN DEFAULT TRUE NOT NULL;
ALTER TABLE vpcs ADD COLUMN enable_dns_hostnames BOOLEAN DEFAULT FALSE NOT NULL;

-- Public addresses (IdPool PUBLIC_IP): host .2 to .254 of Internet.ELASTIC_IPS.
INSERT INTO allocators (name, next_value) VALUES ('public-ip', 2);
