-- Which model an ENI belongs to, in a column of its own: shared (a Hyperplane ENI, one per
-- account, subnet and sorted security-group set) or legacy (one per execution environment, the
-- pre-2019 model). A legacy ENI used to be told apart by a '|' in its group_key (its groups, '|',
-- its own id, so that no two shared a key). A legacy ENI is never shared: its key is now its own
-- id, and its groups are where every ENI's are, in network_interface_groups.
ALTER TABLE network_interfaces ADD COLUMN model VARCHAR(8) DEFAULT 'shared' NOT NULL;
UPDATE network_interfaces SET model = 'legacy', group_key = id WHERE group_key LIKE '%|%';
