/** The SQL the fault campaign checks convergence with. */
import { ident } from '../../components/providers/sql/identifiers';

export const chaosQueries = {
  /** A table's rows, all columns as text in key order, as one hash; its count and distinct keys. */
  content: (table: string): string =>
    `SELECT count(*)::int AS n, count(DISTINCT t.id)::int AS ids,
            coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.id)), 'empty') AS hash
       FROM ${ident(table)} t`,
  /** Of the ids in `$1` (uuid[]), those the table lacks. */
  missing: (table: string): string =>
    `SELECT x.id::text AS id FROM unnest($1::uuid[]) AS x(id)
      WHERE NOT EXISTS (SELECT 1 FROM ${ident(table)} t WHERE t.id = x.id)`,
  /** Every subscription of the database, with the replication origin it owns. */
  subscriptions: `SELECT subname AS name, 'pg_' || oid AS origin FROM pg_subscription
                   WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  /** Every replication slot: name, type, temporary. */
  slots: 'SELECT slot_name AS name, slot_type AS type, temporary FROM pg_replication_slots',
  /** Every replication origin. */
  origins: 'SELECT roname AS name FROM pg_replication_origin',
  /** Every publication. */
  publications: 'SELECT pubname AS name FROM pg_publication',
};
