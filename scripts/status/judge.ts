/**
 * The federation's health judged from what every member said (collect.ts): pure.
 *
 * - Pairs: for each subscriber × publisher, the subscription's state, its apply worker, its initial
 *   sync, its last message and its lag in bytes (the publisher's current WAL position against the
 *   slot's confirmed position).
 * - Copies: the owner of a partition is its source of truth. For every federated table and every
 *   owner, the owner's own partition (found by its LIST bound on the owner's server) is counted and
 *   hashed, and so is every other member's copy; a copy that differs is named with the subscription
 *   that feeds it. A copy that differs while its subscription still has WAL to apply is "behind",
 *   not diverging.
 */
import type {
  CopyStatus,
  MemberFacts,
  MemberStatus,
  OwnerStatus,
  PairStatus,
  PartitionRow,
  StatusReport,
  Subscription,
} from './types';

/** What one member said, or why it could not be asked. */
export interface MemberResult {
  member: string;
  facts?: MemberFacts;
  error?: string;
}

/** Every pair and every copy judged, and the whole report. */
export function judgeReport(
  results: MemberResult[],
  opts: { tables: string[]; subscriptions: Subscription[]; maxLagBytes: number; slotRiskPercent: number },
): StatusReport {
  const names = results.map((r) => r.member);
  const byName = new Map(results.map((r) => [r.member, r.facts]));
  const pairs = opts.subscriptions.map((s) =>
    judgePair(s, byName.get(s.subscriber), byName.get(s.publisher), opts),
  );
  const partitions = judgeCopies(names, opts.tables, byName, pairs, opts.subscriptions);
  const members: MemberStatus[] = results.map((r) => ({
    name: r.member,
    reachable: r.facts !== undefined,
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.facts !== undefined ? { budgetBytes: r.facts.budgetBytes } : {}),
    missingTables: r.facts?.missingTables ?? [],
    drift: r.facts?.drift ?? [],
    unpublished: r.facts?.unpublished ?? [],
  }));
  return {
    pairs,
    partitions,
    members,
    healthy:
      members.every(
        (m) =>
          m.reachable && m.missingTables.length === 0 && m.drift.length === 0 && m.unpublished.length === 0,
      ) &&
      pairs.every((p) => p.status === 'ok') &&
      partitions.every((p) => p.copies.every((c) => c.status === 'ok')),
  };
}

const REFRESH = '`pulumi up --refresh`';

/** The command that re-copies a pair: its subscription replaced. */
function replaceCommand(s: Subscription): string {
  const target = s.urn ?? `<the URN of ${s.resourceName ?? s.name}: \`pulumi stack --show-urns\`>`;
  return `\`pulumi up --target-replace '${target}'\``;
}

/** One pair: its subscription on the subscriber, its slot on the publisher. */
export function judgePair(
  s: Subscription,
  sub: MemberFacts | undefined,
  pub: MemberFacts | undefined,
  opts: { maxLagBytes: number; slotRiskPercent: number },
): PairStatus {
  const { subscriber, publisher, name } = s;
  const row = sub?.subscriptions.get(name);
  const slot = pub?.slots.get(s.slotName);
  const bytes = (v: string | null | undefined): number | null =>
    v === null || v === undefined ? null : Number(v);
  const base: PairStatus = {
    subscriber,
    publisher,
    subscription: name,
    enabled: row?.subenabled ?? null,
    workerRunning: row?.worker ?? null,
    syncState: row?.states ?? null,
    lastMessage: row?.last_msg?.toISOString() ?? null,
    lagBytes: bytes(slot?.lag),
    slotActive: slot?.active ?? null,
    walStatus: slot?.wal_status ?? null,
    retainedBytes: bytes(slot?.retained),
    budgetBytes: pub?.budgetBytes ?? null,
    failoverSlot: slot?.failover ?? null,
    status: 'ok',
  };
  const broken = (problem: string, fix: string): PairStatus => ({ ...base, status: 'broken', problem, fix });
  const remake = `${REFRESH} (it makes the slot again and re-copies ${publisher}'s rows)`;
  // The publisher's side first: a slot lost or at risk says so even while its subscriber is away.
  if (slot !== undefined && (slot.wal_status === 'lost' || slot.invalidation !== null)) {
    return broken(
      `slot lost on ${publisher}: ${slot.invalidation ?? 'the WAL it needs is gone'} (its subscriber was away past the WAL budget)`,
      remake,
    );
  }
  const budget = base.budgetBytes;
  const retained = base.retainedBytes ?? 0;
  const atRisk =
    slot !== undefined &&
    (slot.wal_status === 'unreserved' ||
      (budget !== null && retained > (budget * opts.slotRiskPercent) / 100));
  const risk = `slot at risk: it keeps ${retained} bytes of WAL on ${publisher}, ${
    budget === null
      ? 'past what is reserved'
      : `${Math.round((retained / budget) * 100)}% of its ${budget}-byte budget`
  } (wal_status ${slot?.wal_status ?? '?'})`;
  const riskFix = `bring ${subscriber}'s apply back before the budget runs out; once the slot is lost, ${REFRESH}`;
  if (sub === undefined) {
    return atRisk
      ? { ...base, status: 'at-risk', problem: `subscriber ${subscriber} unreachable; ${risk}`, fix: riskFix }
      : {
          ...base,
          status: 'unknown',
          problem: `subscriber ${subscriber} unreachable`,
          fix: `bring ${subscriber} back`,
        };
  }
  if (row === undefined) return broken('no subscription', REFRESH);
  if (!row.subenabled) return broken('subscription disabled', '`pulumi up` (it enables it)');
  if (pub === undefined) return broken(`publisher ${publisher} unreachable`, `bring ${publisher} back`);
  if (slot === undefined) {
    return broken(
      `slot missing on ${publisher} (a failover without slot sync, a restore or a rebuilt server left none)`,
      remake,
    );
  }
  // A worker that fails is started again every wal_retrieve_retry_interval (5s by default) and dies
  // at once: mostly absent, with errors counted (15+). The count is never reset by a success, so
  // only an absent worker with WAL to apply is judged by it; one seen running leaves its copies
  // behind, which fails the report as well.
  if ((row.errors ?? 0) > 0 && (base.lagBytes ?? 0) > 0 && !row.worker) {
    return broken(
      `apply worker failing on ${subscriber}: ${row.errors ?? 0} errors since its statistics were reset, not running, with ${publisher}'s WAL still to apply`,
      `${subscriber}'s server log says why: a row in its copy that conflicts with ${publisher}'s change (remove it, or re-copy ${publisher}'s rows: ${replaceCommand(s)}); a login ${publisher} refuses (\`pulumi up --refresh\` restores the replication role)`,
    );
  }
  if (!row.worker)
    return broken('no apply worker running', `see ${subscriber}'s server log; then \`pulumi up --refresh\``);
  if (row.states !== null && row.states !== 'r') {
    return broken(
      `initial sync not finished (states ${row.states})`,
      `see ${subscriber}'s server log; then \`pulumi up --refresh\``,
    );
  }
  if (atRisk) return { ...base, status: 'at-risk', problem: risk, fix: riskFix };
  if (base.lagBytes !== null && base.lagBytes > opts.maxLagBytes) {
    return {
      ...base,
      status: 'lagging',
      problem: `lag ${base.lagBytes} bytes > ${opts.maxLagBytes}`,
      fix: `see ${subscriber}'s apply (its server log)`,
    };
  }
  return base;
}

/** Per table and owner: the owner's partition is the truth; every other member's copy is compared with it. */
export function judgeCopies(
  members: string[],
  tables: string[],
  facts: Map<string, MemberFacts | undefined>,
  pairs: PairStatus[],
  subscriptions: Subscription[] = [],
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
          const pair = pairs.find((p) => p.subscriber === holder && p.publisher === owner);
          const feed = pair?.subscription ?? 'none';
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
          const describe = `${holder}'s copy has ${copy.rows} rows, owner ${owner} has ${truth.rows}`;
          if (pair !== undefined && pair.status === 'ok' && (pair.lagBytes ?? 0) > 0) {
            return { ...base, status: 'behind', problem: `${describe}; ${feed} is still applying` };
          }
          const feeding = subscriptions.find((x) => x.subscriber === holder && x.publisher === owner);
          return {
            ...base,
            status: 'diverges',
            ...(feeding !== undefined ? { fix: `re-copy it: ${replaceCommand(feeding)}` } : {}),
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
