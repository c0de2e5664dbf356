/**
 * What `npm run status` asks each member, as builders (tested as strings in
 * tests/unit/statusQueries.test.ts).
 */
import { qualified } from '../../components/providers/sql/identifiers';

/**
 * Session settings that make a row's text the same on every server, so content hashes compare:
 * time zone, date and interval styles, float digits, bytea output.
 */
export const CANONICAL_SESSION = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
];

export const statusQueries = {
  /** Every subscription here: enabled, its apply worker, its last message, its tables' sync states. */
  subscriptions: `SELECT s.subname, s.subenabled,
              EXISTS (SELECT 1 FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL) AS worker,
              (SELECT max(w.last_msg_receipt_time) FROM pg_stat_subscription w WHERE w.subid = s.oid) AS last_msg,
              (SELECT string_agg(DISTINCT r.srsubstate::text, '' ORDER BY r.srsubstate::text) FROM pg_subscription_rel r WHERE r.srsubid = s.oid) AS states
         FROM pg_subscription s
        WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  /** PostgreSQL 15+: each subscription's apply errors since its statistics were reset. */
  applyErrors: 'SELECT subname, apply_error_count::int AS errors FROM pg_stat_subscription_stats',
  /** The tables a publication lists. `$1` publication. */
  published: 'SELECT schemaname AS schema, tablename AS name FROM pg_publication_tables WHERE pubname = $1',
  /**
   * Every logical slot here: how far its consumer is behind the server's WAL, the WAL it keeps, its
   * `wal_status`, why it was invalidated (17+) and whether it is a failover slot (17+).
   */
  slots: `SELECT slot_name, active, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text AS lag,
                (pg_current_wal_lsn() - restart_lsn)::bigint::text AS retained, wal_status,
                to_jsonb(s) ->> 'invalidation_reason' AS invalidation,
                coalesce((to_jsonb(s) ->> 'failover')::boolean, false) AS failover
         FROM pg_replication_slots s WHERE slot_type = 'logical'`,
  /** The WAL budget of slots here, in MB (-1: unbounded). */
  budget: "SELECT setting::bigint AS mb FROM pg_settings WHERE name = 'max_slot_wal_keep_size'",
  /** Every LIST partition of a table with its one bound value: the member whose rows it holds. `$1` qualified table. */
  partitions: `SELECT c.relname AS partition, n.nspname AS schema,
                substring(pg_get_expr(c.relpartbound, c.oid) FROM '^FOR VALUES IN \\(''(.*)''\\)$') AS owner
           FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.inhparent = to_regclass($1)`,
  /** `$1` qualified table. */
  tableExists: 'SELECT to_regclass($1) IS NOT NULL AS ok',
  /** A partition's row count and a hash of its rows' text, in a fixed order. */
  content(schema: string, partition: string): string {
    return `SELECT count(*) AS n, md5(string_agg(h, '' ORDER BY h)) AS hash
             FROM (SELECT md5(t::text) COLLATE "C" AS h FROM ${qualified(schema, partition)} t) rows`;
  },
};
