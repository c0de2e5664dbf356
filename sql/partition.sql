-- One member's partition of a federated table. Its primary key is the replica identity that logical
-- replication needs for UPDATE and DELETE.
CREATE TABLE :"schema".:"partition"
    PARTITION OF :"schema".:"table" (PRIMARY KEY :{primary_key})
    FOR VALUES IN (:'member');
