-- One member's partition of the federated table. Its primary key is the replica identity that
-- logical replication needs for UPDATE and DELETE.
CREATE TABLE :"schema".:"partition"
    PARTITION OF :"schema".:"table" (PRIMARY KEY (id))
    FOR VALUES IN (:'member');
