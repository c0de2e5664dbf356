-- The ownership guard on another member's partition (function in table.sql): local INSERT, UPDATE,
-- DELETE and TRUNCATE fail naming the owner; an UPDATE that would move a local row here fails too
-- (row movement inserts into the destination partition). Dropped with the partition.
-- AFTER, not BEFORE: the statement fails all the same (the trigger raises before it ends), but a
-- BEFORE ROW trigger makes every COPY into the partition insert row by row, the initial copy from its
-- owner included (copyfrom.c: no multi-insert with BEFORE/INSTEAD OF row triggers, enabled or not):
-- adding a member to 3 x 1M rows took 30.9 s with it, 22.2 and 26.3 s without (npm run bench,
-- 2026-12-07, one run each).
-- Replication's workers (session_replication_role = replica) skip it.
CREATE OR REPLACE TRIGGER federation_guard
    AFTER INSERT OR UPDATE OR DELETE ON :"schema".:"partition"
    FOR EACH ROW EXECUTE FUNCTION :"schema".federation_guard(:'owner');
CREATE OR REPLACE TRIGGER federation_guard_truncate
    BEFORE TRUNCATE ON :"schema".:"partition"
    FOR EACH STATEMENT EXECUTE FUNCTION :"schema".federation_guard(:'owner');
