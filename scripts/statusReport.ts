/**
 * The federation's health, read from every member: for each subscriber × publisher pair the
 * subscription's state, its worker, its initial sync, its last message and its lag in bytes (the
 * publisher's current WAL position against the slot's confirmed position); per member the row count
 * per owner. Pure evaluation and rendering, apart from `collect`, which queries the servers.
 */
import { escapeIdentifier } from 'pg';
import { subscriptionName } from '../components/naming';
import { type PgConnection, errorMessage, withClient } from '../components/providers/connection';

export interface MemberEndpoint {
  name: string;
  connection: PgConnection;
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

export interface MemberStatus {
  name: string;
  reachable: boolean;
  error?: string;
  counts: Record<string, number>;
}

export interface StatusReport {
  pairs: PairStatus[];
  members: MemberStatus[];
  countsDiverge: boolean;
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

interface MemberFacts {
  subscriptions: Map<string, SubscriberRow>;
  slots: Map<string, SlotRow>;
  counts: Record<string, number>;
}

async function facts(member: MemberEndpoint, table: string): Promise<MemberFacts> {
  return withClient(member.name, member.connection, async (client) => {
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
    const counts = await client.query<{ node_name: string | null; n: string }>(
      `SELECT node_name, count(*) AS n FROM ${escapeIdentifier(table)} GROUP BY node_name`,
    );
    return {
      subscriptions: new Map(subs.rows.map((r) => [r.subname, r])),
      slots: new Map(slots.rows.map((r) => [r.slot_name, r])),
      counts: Object.fromEntries(counts.rows.map((r) => [r.node_name ?? '(null)', Number(r.n)])),
    };
  });
}

/** Read every member, then judge every pair and the counts. */
export async function collect(
  members: MemberEndpoint[],
  opts: { table: string; maxLagBytes: number },
): Promise<StatusReport> {
  const results = await Promise.all(
    members.map(async (m) => {
      try {
        return { member: m, facts: await facts(m, opts.table) };
      } catch (err) {
        return { member: m, error: errorMessage(err, [m.connection.password]) };
      }
    }),
  );
  const byName = new Map(results.map((r) => [r.member.name, r]));
  const pairs: PairStatus[] = [];
  for (const sub of members) {
    for (const pub of members) {
      if (sub.name === pub.name) continue;
      pairs.push(
        judge(sub.name, pub.name, byName.get(sub.name)?.facts, byName.get(pub.name)?.facts, opts.maxLagBytes),
      );
    }
  }
  const memberStatus: MemberStatus[] = results.map((r) => ({
    name: r.member.name,
    reachable: r.facts !== undefined,
    ...(r.error !== undefined ? { error: r.error } : {}),
    counts: r.facts?.counts ?? {},
  }));
  const reachable = memberStatus.filter((m) => m.reachable);
  const countsDiverge =
    reachable.length !== memberStatus.length ||
    new Set(reachable.map((m) => JSON.stringify(Object.entries(m.counts).sort()))).size > 1;
  return {
    pairs,
    members: memberStatus,
    countsDiverge,
    healthy: !countsDiverge && pairs.every((p) => p.status === 'ok'),
  };
}

function judge(
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
  if (!row.worker) return broken('no apply worker running');
  if (row.states !== null && row.states !== 'r')
    return broken(`initial sync not finished (states ${row.states})`);
  if (base.lagBytes !== null && base.lagBytes > maxLagBytes) {
    return { ...base, status: 'lagging', problem: `lag ${base.lagBytes} bytes > ${maxLagBytes}` };
  }
  return base;
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
  const owners = [...new Set(report.members.flatMap((m) => Object.keys(m.counts)))].sort();
  const reference = JSON.stringify(
    Object.entries(report.members.find((m) => m.reachable)?.counts ?? {}).sort(),
  );
  const memberRows = report.members.map((m) => [
    m.name,
    ...owners.map((o) => (m.reachable ? String(m.counts[o] ?? 0) : '-')),
    !m.reachable
      ? `UNREACHABLE: ${m.error ?? ''}`
      : JSON.stringify(Object.entries(m.counts).sort()) === reference
        ? 'ok'
        : 'DIVERGES',
  ]);
  return [
    grid(
      ['subscriber <- publisher', 'enabled', 'worker', 'sync', 'last message', 'lag bytes', 'status'],
      pairRows,
    ),
    '',
    grid(['member', ...owners, 'rows'], memberRows),
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
