-- The federated table (the seed's `hippos`), LIST-partitioned by the member that owns each row,
-- with a DEFAULT partition for rows whose owner is unknown. Idempotent: applied on every member,
-- again after every change of this file (the text is a resource input, so `pulumi preview` shows it).
--
-- This file is rendered per member (:'member' is its name), and checks first that the server is who
-- the config says: get_node_name() (over pgnodemx's Kubernetes labels on PGO) must return that name.
DO $check$
BEGIN
  IF :"schema".get_node_name() IS DISTINCT FROM :'member' THEN
    RAISE EXCEPTION 'get_node_name() returns %, but this server is configured as member %',
      :"schema".get_node_name(), :'member';
  END IF;
END
$check$;

-- Local-row routing: a row inserted without node_name takes the column default, the member's own
-- name (what get_node_name() returns, as a constant), and so lands directly in the local member's
-- partition. The seed did this with an AFTER STATEMENT trigger that updated every NULL row after
-- each insert (an insert, then a move of every row); a constant default routes each row once at no
-- cost (bench/ measures both). Rows applied by logical replication carry their node_name.
CREATE TABLE IF NOT EXISTS :"schema".:"table" (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    node_name text DEFAULT :'member',
    value datemultirange,
    created_at timestamptz
) PARTITION BY LIST (node_name);

-- Converge a table created before routing by default (for example by the seed's manual procedure).
ALTER TABLE :"schema".:"table" ALTER COLUMN node_name SET DEFAULT :'member';

CREATE TABLE IF NOT EXISTS :"schema".:"default_partition"
    PARTITION OF :"schema".:"table" (PRIMARY KEY (id)) DEFAULT;

-- Ownership guard: a member's local sessions write only its own partition. The triggers call this
-- with the owning member's name ('' on the DEFAULT partition). Logical replication applies rows with
-- session_replication_role = replica, where ordinary triggers do not fire, so replicated rows (and
-- the federation's own resync) pass.
CREATE OR REPLACE FUNCTION :"schema".federation_guard()
RETURNS trigger
LANGUAGE plpgsql
AS $guard$
BEGIN
  IF TG_ARGV[0] = '' THEN
    RAISE EXCEPTION 'the default partition % takes no writes: every row belongs to a member', TG_TABLE_NAME
      USING ERRCODE = 'check_violation',
            HINT = 'insert without node_name to write this member''s rows';
  END IF;
  RAISE EXCEPTION 'rows of member % are written only on member %, not here on member %',
      TG_ARGV[0], TG_ARGV[0], :"schema".get_node_name()
    USING ERRCODE = 'insufficient_privilege',
          HINT = format('connect to %s to change its rows', TG_ARGV[0]);
END
$guard$;

CREATE OR REPLACE TRIGGER federation_guard
    BEFORE INSERT OR UPDATE OR DELETE ON :"schema".:"default_partition"
    FOR EACH ROW EXECUTE FUNCTION :"schema".federation_guard('');
CREATE OR REPLACE TRIGGER federation_guard_truncate
    BEFORE TRUNCATE ON :"schema".:"default_partition"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".federation_guard('');
