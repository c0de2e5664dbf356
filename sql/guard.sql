-- The ownership guard on another member's partition (function in table.sql): local INSERT, UPDATE,
-- DELETE and TRUNCATE fail naming the owner; an UPDATE that would move a local row here fails too
-- (row movement inserts into the destination partition). Dropped with the partition.
CREATE OR REPLACE TRIGGER federation_guard
    BEFORE INSERT OR UPDATE OR DELETE ON :"schema".:"partition"
    FOR EACH ROW EXECUTE FUNCTION :"schema".federation_guard(:'owner');
CREATE OR REPLACE TRIGGER federation_guard_truncate
    BEFORE TRUNCATE ON :"schema".:"partition"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".federation_guard(:'owner');
