-- A federated table, LIST-partitioned by the member that owns each row, with a DEFAULT partition for
-- rows whose owner is not a member. Idempotent: applied on every member, again after every change.
--
-- Local-row routing: a row inserted without its owner column takes the column default, the member's
-- own name (what get_node_name() returns, as a constant), and so lands directly in the member's own
-- partition. The seed did this with an AFTER STATEMENT trigger that updated every NULL row after each
-- insert (an insert, then a move of every row); a constant default routes each row once at no cost
-- (bench/ measures both). Rows applied by logical replication carry their owner.
CREATE TABLE IF NOT EXISTS :"schema".:"table" (
:{columns}
) PARTITION BY LIST (:"owner_column");

-- Converge a table created before routing by default (for example by the seed's manual procedure).
ALTER TABLE :"schema".:"table" ALTER COLUMN :"owner_column" SET DEFAULT :'member';

CREATE TABLE IF NOT EXISTS :"schema".:"default_partition"
    PARTITION OF :"schema".:"table" (PRIMARY KEY :{primary_key}) DEFAULT;

CREATE OR REPLACE TRIGGER federation_guard
    BEFORE INSERT OR UPDATE OR DELETE ON :"schema".:"default_partition"
    FOR EACH ROW EXECUTE FUNCTION :"schema".federation_guard('');
CREATE OR REPLACE TRIGGER federation_guard_truncate
    BEFORE TRUNCATE ON :"schema".:"default_partition"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".federation_guard('');
