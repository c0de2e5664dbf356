-- get_node_name(), as @pulumi/postgresql's Function resource declares it on each member; used where
-- no Pulumi engine runs (the embedded-server test harness). The body comes from node-name-*.sql.
CREATE OR REPLACE FUNCTION :"schema".get_node_name()
RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER
AS :'body';
