-- What every federated table on a member shares, applied with each table (idempotent).
--
-- First, that the server is who the config says: get_node_name() (over pgnodemx's Kubernetes labels
-- on PGO) must return the member's name, or rows would be routed to another member's partition.
DO $check$
BEGIN
  IF :"schema".get_node_name() IS DISTINCT FROM :'member' THEN
    RAISE EXCEPTION 'get_node_name() returns %, but this server is configured as member %',
      :"schema".get_node_name(), :'member';
  END IF;
END
$check$;

-- Ownership guard: a member's local sessions write only its own partitions. The triggers call this
-- with the owning member's name ('' on a DEFAULT partition). Logical replication applies rows with
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
            HINT = 'insert without the owner column to write this member''s rows';
  END IF;
  RAISE EXCEPTION 'rows of member % are written only on member %, not here on member %',
      TG_ARGV[0], TG_ARGV[0], :"schema".get_node_name()
    USING ERRCODE = 'insufficient_privilege',
          HINT = format('connect to %s to change its rows', TG_ARGV[0]);
END
$guard$;
