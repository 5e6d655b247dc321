-- Each forwarder node's place in the fleet's plan (docs/fleet.md): 1..16, kept for its name while it
-- stays registered, so senders' nexthop ids and the node's port blocks survive a restart of the node
-- or of the control plane. Nodes registered before this get indexes in name order; a fleet that had
-- more than 16 loses the rest, which are refused (the fleet is full) when they next register.
ALTER TABLE forwarder_nodes ADD COLUMN fleet_index INTEGER;
UPDATE forwarder_nodes SET fleet_index = (SELECT COUNT(*) FROM forwarder_nodes f WHERE f.name <= forwarder_nodes.name);
DELETE FROM forwarder_nodes WHERE fleet_index > 16;
ALTER TABLE forwarder_nodes ALTER COLUMN fleet_index SET NOT NULL;
ALTER TABLE forwarder_nodes ADD CONSTRAINT forwarder_nodes_fleet_index UNIQUE (fleet_index);
