-- The federated table (the seed's `hippos`), LIST-partitioned by the member that owns each row,
-- with a DEFAULT partition for rows whose owner is unknown. Idempotent: applied on every member,
-- again after every change of this file (the text is a resource input, so `pulumi preview` shows it).
--
-- Local-row routing: a row inserted without node_name takes the column default, get_node_name(),
-- and so lands directly in the local member's partition. The seed did this with an AFTER STATEMENT
-- trigger that updated every NULL row after each insert (an insert, then a move of every row);
-- the default routes each row once. Rows applied by logical replication carry their node_name.
CREATE TABLE IF NOT EXISTS :"schema".:"table" (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    node_name text DEFAULT :"schema".get_node_name(),
    value datemultirange,
    created_at timestamptz
) PARTITION BY LIST (node_name);

-- Converge a table created before routing by default (for example by the seed's manual procedure).
ALTER TABLE :"schema".:"table" ALTER COLUMN node_name SET DEFAULT :"schema".get_node_name();

CREATE TABLE IF NOT EXISTS :"schema".:"default_partition"
    PARTITION OF :"schema".:"table" (PRIMARY KEY (id)) DEFAULT;
