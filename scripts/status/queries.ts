/**
 * What `npm run status` asks each member, as builders (tested as strings in
 * tests/unit/statusQueries.test.ts). What the monitoring queries read too (subscriptions, slots,
 * partitions) is read by the same statements, from components/providers/sql/.
 */
import { qualified } from '../../components/providers/sql/identifiers';
import { partitions } from '../../components/providers/sql/partitions';
import { slots } from '../../components/providers/sql/slots';
import { subscriptions } from '../../components/providers/sql/subscriptions';

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
  subscriptions: subscriptions.health(),
  /** PostgreSQL 15+: each subscription's apply errors since its statistics were reset. */
  applyErrors: subscriptions.errors,
  /** The tables a publication lists. `$1` publication. */
  published: 'SELECT schemaname AS schema, tablename AS name FROM pg_publication_tables WHERE pubname = $1',
  /**
   * Every logical slot here: how far its consumer is behind the server's WAL, the WAL it keeps, its
   * `wal_status`, why it was invalidated (17+) and whether it is a failover slot (17+).
   */
  slots: slots.health,
  /** The WAL budget of slots here, in MB (-1: unbounded). */
  budget: slots.budget,
  /** Every LIST partition of a table with its one bound value: the member whose rows it holds. `$1` qualified table. */
  partitions: partitions.owners('to_regclass($1)'),
  /** `$1` qualified table. */
  tableExists: 'SELECT to_regclass($1) IS NOT NULL AS ok',
  /** A partition's row count and a hash of its rows' text, in a fixed order. */
  content(schema: string, partition: string): string {
    return `SELECT count(*) AS n, md5(string_agg(h, '' ORDER BY h)) AS hash
             FROM (SELECT md5(t::text) COLLATE "C" AS h FROM ${qualified(schema, partition)} t) rows`;
  },
};
