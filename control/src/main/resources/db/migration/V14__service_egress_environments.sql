-- Functions without a VpcConfig leave by the service-owned egress (DESIGN.md §11): their
-- execution environments are bound to the egress's ENI, which is the service's, not a row of
-- network_interfaces (eni_id must name one). Such an environment has no eni_id and this flag.
ALTER TABLE execution_environments ADD COLUMN service_egress BOOLEAN DEFAULT FALSE NOT NULL;
