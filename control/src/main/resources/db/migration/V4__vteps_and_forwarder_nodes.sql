-- Each VPC's router terminates its subnets' tunnels at an underlay address of its own (198.19.0.0/16:
-- the upper half of the 198.18.0.0/15 benchmarking range; the lower half is the lab's).
ALTER TABLE vpcs ADD COLUMN vtep_ip VARCHAR(15);
INSERT INTO allocators (name, next_value) VALUES ('vpc-vtep', 10);

-- Forwarder nodes the VPC tunnels flood to (registered by nodes; see issue 4).
CREATE TABLE forwarder_nodes (
    name        VARCHAR(64)  PRIMARY KEY,
    underlay_ip VARCHAR(15)  NOT NULL UNIQUE,
    created_at  TIMESTAMP    NOT NULL
);
