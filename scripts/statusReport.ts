/**
 * The federation's health, read from every member.
 *
 * - Pairs: for each subscriber × publisher, the subscription's state, its apply worker, its initial
 *   sync, its last message and its lag in bytes (the publisher's current WAL position against the
 *   slot's confirmed position).
 * - Copies: the owner of a partition is its source of truth. For every federated table and every
 *   owner, the owner's own partition (found by its LIST bound on the owner's server) is counted and
 *   hashed, and so is every other member's copy; a copy that differs is named with the subscription
 *   that feeds it. A copy that differs while its subscription still has WAL to apply is "behind",
 *   not diverging.
 *
 * `collect` queries the servers; judging and rendering are pure.
 */
import { type Client, escapeIdentifier } from 'pg';
import { declaredShape } from '../components/providers/federatedTable';
import { canonicalColumns, readShape, shapeSteps } from '../components/providers/shape';
import type { TableSpec } from '../components/tables';
import { subscriptionName } from '../components/naming';
import { type PgConnection, errorMessage, withClient } from '../components/providers/connection';

export interface MemberEndpoint {
  name: string;
  connection: PgConnection;
}

export interface TableRef {
  schema: string;
  name: string;
  /** The declared shape (from the stack's config), compared with each member's table. */
  spec?: TableSpec;
}

export interface PairStatus {
  subscriber: string;
  publisher: string;
  subscription: string;
  enabled: boolean | null;
  workerRunning: boolean | null;
  /** pg_subscription_rel states, e.g. "r" when every table is ready. */
  syncState: string | null;
  lastMessage: string | null;
  lagBytes: number | null;
  slotActive: boolean | null;
  status: 'ok' | 'lagging' | 'broken' | 'unknown';
  problem?: string;
}

export interface CopyStatus {
  table: string;
  owner: string;
  holder: string;
  partition: string | null;
  rows: number | null;
  hash: string | null;
  status: 'ok' | 'behind' | 'diverges' | 'missing' | 'unknown';
  problem?: string;
}

export interface OwnerStatus {
  table: string;
  owner: string;
  partition: string | null;
  rows: number | null;
  hash: string | null;
  copies: CopyStatus[];
}

export interface MemberStatus {
  name: string;
  reachable: boolean;
  error?: string;
  /** Federated tables this reachable member does not have. */
  missingTables: string[];
  /** Tables whose shape differs from their declaration, with how. */
  drift: string[];
}

export interface StatusReport {
  pairs: PairStatus[];
  partitions: OwnerStatus[];
  members: MemberStatus[];
  healthy: boolean;
}

interface SubscriberRow {
  subname: string;
  subenabled: boolean;
  worker: boolean;
  last_msg: Date | null;
  states: string | null;
}

interface SlotRow {
  slot_name: string;
  active: boolean;
  lag: string | null;
}

interface PartitionRow {
  table: string;
  owner: string;
  partition: string;
  rows: number;
  hash: string;
}

interface MemberFacts {
  subscriptions: Map<string, SubscriberRow>;
  slots: Map<string, SlotRow>;
  partitions: PartitionRow[];
  missingTables: string[];
  drift: string[];
}

/**
 * Session settings that make a row's text the same on every server, so content hashes compare:
 * time zone, date and interval styles, float digits, bytea output.
 */
const CANONICAL_SESSION = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
];

async function facts(member: MemberEndpoint, tables: TableRef[]): Promise<MemberFacts> {
  return withClient(member.name, member.connection, async (client) => {
    for (const statement of CANONICAL_SESSION) await client.query(statement);
    const subs = await client.query<SubscriberRow>(
      `SELECT s.subname, s.subenabled,
              EXISTS (SELECT 1 FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL) AS worker,
              (SELECT max(w.last_msg_receipt_time) FROM pg_stat_subscription w WHERE w.subid = s.oid) AS last_msg,
              (SELECT string_agg(DISTINCT r.srsubstate::text, '' ORDER BY r.srsubstate::text) FROM pg_subscription_rel r WHERE r.srsubid = s.oid) AS states
         FROM pg_subscription s
        WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    const slots = await client.query<SlotRow>(
      `SELECT slot_name, active, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text AS lag
         FROM pg_replication_slots WHERE slot_type = 'logical'`,
    );
    const partitions: PartitionRow[] = [];
    const missingTables: string[] = [];
    const drift: string[] = [];
    for (const table of tables) {
      // Every LIST partition of the table with its one bound value: the member whose rows it holds.
      const found = await client.query<{ partition: string; schema: string; owner: string | null }>(
        `SELECT c.relname AS partition, n.nspname AS schema,
                substring(pg_get_expr(c.relpartbound, c.oid) FROM '^FOR VALUES IN \\(''(.*)''\\)$') AS owner
           FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.inhparent = to_regclass($1)`,
        [`${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`],
      );
      const exists = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
        `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`,
      ]);
      if (exists.rows[0]?.ok !== true) {
        missingTables.push(`${table.schema}.${table.name}`);
        continue;
      }
      if (table.spec !== undefined) {
        const steps = await shapeDrift(client, member.name, table.schema, table.spec);
        if (steps.length > 0) drift.push(`${table.schema}.${table.name}: up would ${steps.join('; ')}`);
      }
      for (const row of found.rows) {
        if (row.owner === null) continue; // the DEFAULT partition
        const qualified = `${escapeIdentifier(row.schema)}.${escapeIdentifier(row.partition)}`;
        const content = await client.query<{ n: string; hash: string | null }>(
          `SELECT count(*) AS n, md5(string_agg(h, '' ORDER BY h)) AS hash
             FROM (SELECT md5(t::text) COLLATE "C" AS h FROM ${qualified} t) rows`,
        );
        partitions.push({
          table: `${table.schema}.${table.name}`,
          owner: row.owner.replace(/''/g, "'"),
          partition: row.partition,
          rows: Number(content.rows[0]?.n ?? 0),
          hash: content.rows[0]?.hash ?? md5OfNothing,
        });
      }
    }
    return {
      subscriptions: new Map(subs.rows.map((r) => [r.subname, r])),
      slots: new Map(slots.rows.map((r) => [r.slot_name, r])),
      partitions,
      missingTables,
      drift,
    };
  });
}

/** How a member's table differs from its declaration: the steps `pulumi up` would take there. */
async function shapeDrift(
  client: Client,
  member: string,
  schema: string,
  spec: TableSpec,
): Promise<string[]> {
  const actual = await readShape(client, schema, spec.name);
  if (actual === undefined) return [];
  const declared = declaredShape({
    member,
    columns: spec.columns,
    ownerColumn: spec.ownerColumn,
    indexes: spec.indexes,
    checks: spec.checks,
  });
  const canonical = { ...declared, columns: await canonicalColumns(client, declared.columns) };
  const checks = actual.checks.map((c) => declared.checks.find((d) => d.name === c.name) ?? c);
  return shapeSteps(schema, spec.name, { ...actual, checks }, canonical).map((step) => step.describe);
}

/** The hash of an empty partition (string_agg over no rows is NULL). */
const md5OfNothing = 'empty';

/** Read every member, then judge every pair and every copy. */
export async function collect(
  members: MemberEndpoint[],
  opts: { tables: TableRef[]; maxLagBytes: number },
): Promise<StatusReport> {
  const results = await Promise.all(
    members.map(async (m) => {
      try {
        return { member: m, facts: await facts(m, opts.tables) };
      } catch (err) {
        return { member: m, error: errorMessage(err, [m.connection.password]) };
      }
    }),
  );
  const byName = new Map(results.map((r) => [r.member.name, r.facts]));
  const pairs: PairStatus[] = [];
  for (const sub of members) {
    for (const pub of members) {
      if (sub.name === pub.name) continue;
      pairs.push(judgePair(sub.name, pub.name, byName.get(sub.name), byName.get(pub.name), opts.maxLagBytes));
    }
  }
  const partitions = judgeCopies(
    members.map((m) => m.name),
    opts.tables.map((t) => `${t.schema}.${t.name}`),
    byName,
    pairs,
  );
  const memberStatus: MemberStatus[] = results.map((r) => ({
    name: r.member.name,
    reachable: r.facts !== undefined,
    ...(r.error !== undefined ? { error: r.error } : {}),
    missingTables: r.facts?.missingTables ?? [],
    drift: r.facts?.drift ?? [],
  }));
  return {
    pairs,
    partitions,
    members: memberStatus,
    healthy:
      memberStatus.every((m) => m.reachable && m.missingTables.length === 0 && m.drift.length === 0) &&
      pairs.every((p) => p.status === 'ok') &&
      partitions.every((p) => p.copies.every((c) => c.status === 'ok')),
  };
}

function judgePair(
  subscriber: string,
  publisher: string,
  sub: MemberFacts | undefined,
  pub: MemberFacts | undefined,
  maxLagBytes: number,
): PairStatus {
  const name = subscriptionName(subscriber, publisher);
  const row = sub?.subscriptions.get(name);
  const slot = pub?.slots.get(name);
  const base: PairStatus = {
    subscriber,
    publisher,
    subscription: name,
    enabled: row?.subenabled ?? null,
    workerRunning: row?.worker ?? null,
    syncState: row?.states ?? null,
    lastMessage: row?.last_msg?.toISOString() ?? null,
    lagBytes: slot?.lag === null || slot?.lag === undefined ? null : Number(slot.lag),
    slotActive: slot?.active ?? null,
    status: 'ok',
  };
  const broken = (problem: string): PairStatus => ({ ...base, status: 'broken', problem });
  if (sub === undefined)
    return { ...base, status: 'unknown', problem: `subscriber ${subscriber} unreachable` };
  if (row === undefined) return broken('no subscription');
  if (!row.subenabled) return broken('subscription disabled');
  if (pub === undefined) return broken(`publisher ${publisher} unreachable`);
  if (slot === undefined) return broken('no slot on the publisher');
  if (!row.worker) return broken('no apply worker running (see the subscriber server log)');
  if (row.states !== null && row.states !== 'r')
    return broken(`initial sync not finished (states ${row.states})`);
  if (base.lagBytes !== null && base.lagBytes > maxLagBytes) {
    return { ...base, status: 'lagging', problem: `lag ${base.lagBytes} bytes > ${maxLagBytes}` };
  }
  return base;
}

/** Per table and owner: the owner's partition is the truth; every other member's copy is compared with it. */
export function judgeCopies(
  members: string[],
  tables: string[],
  facts: Map<string, MemberFacts | undefined>,
  pairs: PairStatus[],
): OwnerStatus[] {
  const out: OwnerStatus[] = [];
  const find = (holder: string, table: string, owner: string): PartitionRow | undefined =>
    facts.get(holder)?.partitions.find((p) => p.table === table && p.owner === owner);
  for (const table of tables) {
    for (const owner of members) {
      const truth = find(owner, table, owner);
      const ownerFacts = facts.get(owner);
      const copies = members
        .filter((holder) => holder !== owner)
        .map((holder): CopyStatus => {
          const copy = find(holder, table, owner);
          const base = {
            table,
            owner,
            holder,
            partition: copy?.partition ?? null,
            rows: copy?.rows ?? null,
            hash: copy?.hash ?? null,
          };
          const feed = subscriptionName(holder, owner);
          if (facts.get(holder) === undefined)
            return { ...base, status: 'unknown', problem: `${holder} unreachable` };
          if (copy === undefined) {
            return facts.get(holder)?.missingTables.includes(table)
              ? { ...base, status: 'unknown', problem: `${holder} has no table ${table}` }
              : { ...base, status: 'missing', problem: `${holder} has no partition for ${owner}` };
          }
          if (ownerFacts === undefined || truth === undefined) {
            return {
              ...base,
              status: 'unknown',
              problem: `owner ${owner} unreachable or without its partition`,
            };
          }
          if (copy.hash === truth.hash) return { ...base, status: 'ok' };
          const pair = pairs.find((p) => p.subscriber === holder && p.publisher === owner);
          const describe = `${holder}'s copy has ${copy.rows} rows, owner ${owner} has ${truth.rows}`;
          if (pair !== undefined && pair.status === 'ok' && (pair.lagBytes ?? 0) > 0) {
            return { ...base, status: 'behind', problem: `${describe}; ${feed} is still applying` };
          }
          return {
            ...base,
            status: 'diverges',
            problem:
              `${describe} (content differs); fed by subscription ${feed}` +
              (pair !== undefined && pair.status !== 'ok' ? ` (${pair.status}: ${pair.problem ?? ''})` : ''),
          };
        });
      out.push({
        table,
        owner,
        partition: truth?.partition ?? null,
        rows: truth?.rows ?? null,
        hash: truth?.hash ?? null,
        copies,
      });
    }
  }
  return out;
}

/** The report as terminal tables. */
export function renderReport(report: StatusReport): string {
  const pairRows = report.pairs.map((p) => [
    `${p.subscriber} <- ${p.publisher}`,
    p.enabled === null ? '-' : p.enabled ? 'yes' : 'NO',
    p.workerRunning === null ? '-' : p.workerRunning ? 'yes' : 'NO',
    p.syncState ?? '-',
    p.lastMessage ?? '-',
    p.lagBytes === null ? '-' : String(p.lagBytes),
    p.status === 'ok' ? 'ok' : `${p.status.toUpperCase()}: ${p.problem ?? ''}`,
  ]);
  const holders = report.members.map((m) => m.name);
  const partitionRows = report.partitions.map((p) => {
    const problems = p.copies.filter((c) => c.status !== 'ok');
    return [
      p.table,
      p.owner,
      p.rows === null ? '-' : String(p.rows),
      ...holders.map((h) => {
        if (h === p.owner) return p.rows === null ? '-' : `${p.rows} (owner)`;
        const copy = p.copies.find((c) => c.holder === h);
        if (copy === undefined || copy.rows === null) return '-';
        return copy.status === 'ok' ? String(copy.rows) : `${copy.rows} ≠`;
      }),
      problems.length === 0
        ? 'ok'
        : problems.map((c) => `${c.status.toUpperCase()}: ${c.problem ?? ''}`).join('; '),
    ];
  });
  const memberLines = report.members.flatMap((m) =>
    !m.reachable
      ? [`${m.name}: UNREACHABLE: ${m.error ?? ''}`]
      : [
          ...(m.missingTables.length > 0
            ? [
                `${m.name}: NO TABLE ${m.missingTables.join(', ')} (reachable; the federation is not deployed there)`,
              ]
            : []),
          ...m.drift.map((d) => `${m.name}: DRIFT: ${d}`),
        ],
  );
  return [
    grid(
      ['subscriber <- publisher', 'enabled', 'worker', 'sync', 'last message', 'lag bytes', 'status'],
      pairRows,
    ),
    '',
    grid(['table', 'owner', 'rows', ...holders, 'copies'], partitionRows),
    ...(memberLines.length > 0 ? ['', ...memberLines] : []),
    '',
    report.healthy ? 'healthy' : 'NOT HEALTHY',
  ].join('\n');
}

function grid(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
