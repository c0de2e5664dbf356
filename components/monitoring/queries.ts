/**
 * The federation's own queries for the postgres_exporter PGO runs beside each PGO member with
 * `monitoring`: per subscription (enabled, apply worker, last message), per slot (lag, retained
 * WAL, `wal_status`, lost), apply and sync errors (15+), conflicts by kind (18+) and rows per
 * partition. Written in postgres_exporter's custom-query YAML, the file its `--extend.query-path`
 * reads: a metric namespace per query, each column a LABEL, a GAUGE or a COUNTER, each metric
 * `<namespace>_<column>` (prometheus-community/postgres_exporter v0.19.1, exporter/queries.go).
 *
 * That exporter has no per-query version bounds (its `runonserver` is one setting for the whole
 * server), so each query says from which major it runs, and a member's file holds those of its
 * major. Each reads what status reads, through the same statements (components/providers/sql/),
 * labelled with the member's name; on a standby (PGO runs the exporter in every instance's pod) each
 * returns no row, so only the primary reports. Pure; tests/unit/monitoring.test.ts holds the text,
 * tests/integration/monitoring.test.ts runs every query on PostgreSQL 14 to 18.
 */
import { literal } from '../providers/sql/identifiers';
import { partitions } from '../providers/sql/partitions';
import { slots } from '../providers/sql/slots';
import { CONFLICT_KINDS, subscriptions } from '../providers/sql/subscriptions';
import { type YamlValue, toYaml } from './yaml';

export type Usage = 'LABEL' | 'GAUGE' | 'COUNTER';

export interface MetricColumn {
  name: string;
  usage: Usage;
  description: string;
}

/** One metric namespace of the exporter's file. */
export interface ExporterQuery {
  namespace: string;
  /** The oldest PostgreSQL major it runs on (what it reads is missing before). */
  minMajor: number;
  sql: string;
  /** Every column it returns, in order. */
  columns: MetricColumn[];
}

/** What the queries of one member read: its name (a label), its database and the federated tables. */
export interface MonitoredMember {
  member: string;
  database: string;
  tables: Array<{ schema: string; name: string }>;
}

/** `wal_status` as a gauge: reserved, extended, unreserved (lost at the next checkpoint), lost. */
export const WAL_STATUS_CODES = { reserved: 0, extended: 1, unreserved: 2, lost: 3 } as const;

const label = (name: string, description: string): MetricColumn => ({ name, usage: 'LABEL', description });
const gauge = (name: string, description: string): MetricColumn => ({ name, usage: 'GAUGE', description });
const counter = (name: string, description: string): MetricColumn => ({
  name,
  usage: 'COUNTER',
  description,
});

/** Only the primary answers: a standby's catalog is a copy, its statistics its own. */
const PRIMARY_ONLY = 'NOT pg_is_in_recovery()';

const databaseOid = (database: string) =>
  `(SELECT oid FROM pg_database WHERE datname = ${literal(database)})`;

interface Definition {
  namespace: string;
  minMajor: number;
  columns: MetricColumn[];
  sql(m: MonitoredMember): string;
}

const DEFINITIONS = [
  {
    namespace: 'pg_federation_subscription',
    minMajor: 14,
    columns: [
      label('member', 'The member whose server holds the subscription (the subscriber)'),
      label('subscription', 'The subscription (sub_<subscriber>_<publisher>)'),
      label('publication', 'The publication it subscribes to (pub_<publisher>)'),
      gauge('enabled', '1 when the subscription is enabled'),
      gauge('worker_running', '1 while its apply worker runs'),
      gauge(
        'last_message_age_seconds',
        'Seconds since its workers last heard from the publisher (NaN while no worker runs)',
      ),
    ],
    sql: (
      m,
    ) => `SELECT ${literal(m.member)} AS member, h.subname AS subscription, h.publications AS publication,
       h.subenabled::int AS enabled, h.worker::int AS worker_running,
       extract(epoch FROM now() - h.last_msg)::float8 AS last_message_age_seconds
  FROM (${subscriptions.health(m.database)}) h
 WHERE ${PRIMARY_ONLY}`,
  },
  {
    namespace: 'pg_federation_slot',
    minMajor: 14,
    columns: [
      label('member', 'The member whose server holds the slot (the publisher)'),
      label('slot', "The slot (its subscription's name, or a table-sync worker's)"),
      gauge('active', '1 while a subscriber streams from it'),
      gauge('lag_bytes', "Bytes of the server's WAL its subscriber has not confirmed"),
      gauge('retained_bytes', 'Bytes of WAL the slot keeps on the server'),
      gauge('wal_status', 'wal_status: 0 reserved, 1 extended, 2 unreserved (at risk), 3 lost'),
      gauge('lost', '1 when its WAL is gone (wal_status lost, or invalidated on 17+)'),
      gauge('wal_budget_bytes', "The server's max_slot_wal_keep_size in bytes (-1: unbounded)"),
    ],
    sql: (m) => `SELECT ${literal(m.member)} AS member, h.slot_name AS slot, h.active::int AS active,
       h.lag::bigint AS lag_bytes, h.retained::bigint AS retained_bytes,
       CASE h.wal_status ${Object.entries(WAL_STATUS_CODES)
         .map(([status, code]) => `WHEN '${status}' THEN ${code}`)
         .join(' ')} END AS wal_status,
       h.lost::int AS lost,
       (SELECT CASE WHEN b.mb < 0 THEN -1 ELSE b.mb * 1048576 END FROM (${slots.budget}) b) AS wal_budget_bytes
  FROM (${slots.health}) h
 WHERE h.database = ${literal(m.database)} AND ${PRIMARY_ONLY}`,
  },
  {
    namespace: 'pg_federation_subscription_stats',
    minMajor: 15,
    columns: [
      label('member', 'The member whose server holds the subscription (the subscriber)'),
      label('subscription', 'The subscription'),
      counter('apply_error_count', 'Errors of its apply worker since its statistics were reset'),
      counter('sync_error_count', 'Errors of its initial-copy workers since its statistics were reset'),
    ],
    sql: (m) => `SELECT ${literal(m.member)} AS member, e.subname AS subscription,
       e.apply_errors AS apply_error_count, e.sync_errors AS sync_error_count
  FROM (${subscriptions.errors}) e
  JOIN pg_subscription s ON s.oid = e.subid
 WHERE s.subdbid = ${databaseOid(m.database)} AND ${PRIMARY_ONLY}`,
  },
  {
    namespace: 'pg_federation_subscription_conflicts',
    minMajor: 18,
    columns: [
      label('member', 'The member whose server holds the subscription (the subscriber)'),
      label('subscription', 'The subscription'),
      ...CONFLICT_KINDS.map((kind) =>
        counter(kind, `Conflicts ${kind.replace(/_/g, ' ')} met while applying (PostgreSQL 18+)`),
      ),
    ],
    sql: (m) => `SELECT ${literal(m.member)} AS member, c.subname AS subscription,
       ${CONFLICT_KINDS.map((kind) => `c.confl_${kind} AS ${kind}`).join(', ')}
  FROM (${subscriptions.conflicts}) c
  JOIN pg_subscription s ON s.oid = c.subid
 WHERE s.subdbid = ${databaseOid(m.database)} AND ${PRIMARY_ONLY}`,
  },
  {
    namespace: 'pg_federation_partition',
    minMajor: 14,
    columns: [
      label('member', 'The member whose server holds the partition'),
      label('table', 'The federated table (schema.name)'),
      label('partition', 'The partition'),
      label('owner', 'The member whose rows it holds'),
      gauge('rows', 'Live rows in the partition, as the statistics count them (n_live_tup)'),
    ],
    sql: (
      m,
    ) => `SELECT ${literal(m.member)} AS member, t.schema || '.' || t.name AS "table", p.partition, p.owner,
       pg_stat_get_live_tuples(p.relid) AS rows
  FROM (VALUES ${m.tables.map((t) => `(${literal(t.schema)}, ${literal(t.name)})`).join(', ')}) AS t (schema, name)
 CROSS JOIN LATERAL (${partitions.owners("to_regclass(format('%I.%I', t.schema, t.name))")}) p
 WHERE p.owner IS NOT NULL AND ${PRIMARY_ONLY}`,
  },
] as const satisfies readonly Definition[];

type Namespace = (typeof DEFINITIONS)[number]['namespace'];

/** Every query of the federation for one member, whatever its major. */
export function exporterQueries(m: MonitoredMember): ExporterQuery[] {
  return DEFINITIONS.map((d) => ({
    namespace: d.namespace,
    minMajor: d.minMajor,
    columns: [...d.columns],
    sql: d.sql(m),
  }));
}

/** The queries a server of this major can run. */
export function queriesForMajor(queries: ExporterQuery[], major: number): ExporterQuery[] {
  return queries.filter((q) => q.minMajor <= major);
}

/** A metric the queries give (`<namespace>_<column>`); throws for a column no query declares. */
export function metricName(namespace: Namespace, column: string): string {
  const found = DEFINITIONS.find((d) => d.namespace === namespace)?.columns.find((c) => c.name === column);
  if (found === undefined || found.usage === 'LABEL') {
    throw new Error(`${namespace} has no metric column ${column}`);
  }
  return `${namespace}_${column}`;
}

/** The exporter's file: each query's namespace with its SQL and its columns. */
export function exporterQueriesYaml(queries: ExporterQuery[], comment: string[] = []): string {
  const document: Record<string, YamlValue> = Object.fromEntries(
    queries.map((q) => [
      q.namespace,
      {
        query: q.sql,
        metrics: q.columns.map((c) => ({ [c.name]: { usage: c.usage, description: c.description } })),
      },
    ]),
  );
  return toYaml(document, comment);
}
