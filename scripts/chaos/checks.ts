/**
 * What "converged" means after a fault and its recovery, checked on the servers and through the
 * engine: every member holds the same rows (one hash per table), every acknowledged row of a member
 * is on every member, no key twice; no replication object on any server that the stack does not
 * declare (slots, temporary and table-sync ones included, subscriptions, origins, publications);
 * `pulumi refresh` and `pulumi preview` find nothing to change; `npm run status` is healthy.
 */
import { plan } from '../../components/plan';
import { configFromValues } from '../../components/stackConfig';
import { query, waitFor } from '../embedded/serverSet';
import { collect, publicationsOf, subscriptionsOf } from '../status/collect';
import type { FederationUnderTest } from './federationUnderTest';
import { chaosQueries } from './queries';

export interface Convergence {
  converged: boolean;
  /** Acknowledged rows of a member missing on some member (each row counted once). */
  rowsLost: number;
  /** Keys held twice in a member's table. */
  duplicates: number;
  /** Replication objects no declaration accounts for, as `server: kind name`. */
  orphans: string[];
  /** Everything that failed, in words. */
  problems: string[];
  /** When every member held the same rows (epoch ms). */
  settledAt: number;
}

interface Expected {
  subscriptions: Set<string>;
  slots: Set<string>;
  publications: Set<string>;
}

/** What each server should hold: the declared mesh on the members, nothing of ours elsewhere. */
function expected(f: FederationUnderTest, deployed: boolean): Map<string, Expected> {
  const p = plan(configFromValues(f.rawConfig()));
  const subs = subscriptionsOf(p);
  const pubs = publicationsOf(p);
  return new Map(
    f.set.names().map((name) => {
      const member = deployed && f.members.includes(name);
      return [
        name,
        {
          subscriptions: new Set(member ? subs.filter((s) => s.subscriber === name).map((s) => s.name) : []),
          slots: new Set(member ? subs.filter((s) => s.publisher === name).map((s) => s.slotName) : []),
          publications: new Set(member && pubs[name] !== undefined ? [pubs[name]] : []),
        },
      ];
    }),
  );
}

/** Replication objects on every server beyond (or short of) what is declared. */
export async function orphans(f: FederationUnderTest, deployed: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const [name, want] of expected(f, deployed)) {
    const s = f.server(name);
    const subs = await query<{ name: string; origin: string }>(s, chaosQueries.subscriptions);
    const slots = await query<{ name: string; type: string; temporary: boolean }>(s, chaosQueries.slots);
    const origins = await query<{ name: string }>(s, chaosQueries.origins);
    const pubs = await query<{ name: string }>(s, chaosQueries.publications);
    const differ = (kind: string, have: string[], wanted: Set<string>) => {
      for (const x of have) if (!wanted.has(x)) out.push(`${name}: ${kind} ${x} (not declared)`);
      for (const x of wanted) if (!have.includes(x)) out.push(`${name}: ${kind} ${x} (declared, missing)`);
    };
    differ(
      'subscription',
      subs.map((r) => r.name),
      want.subscriptions,
    );
    differ(
      'slot',
      slots.map((r) => `${r.name}${r.temporary ? ' (temporary)' : ''}`),
      want.slots,
    );
    differ(
      'origin',
      origins.map((r) => r.name),
      new Set(subs.map((r) => r.origin)),
    );
    differ(
      'publication',
      pubs.map((r) => r.name),
      want.publications,
    );
  }
  return out;
}

/** Rows lost and keys held twice, with every member's table hashed the same (waited for). */
async function rows(
  f: FederationUnderTest,
  acked: Map<string, string[]>,
  problems: string[],
): Promise<{ lost: number; duplicates: number }> {
  const table = f.table().name;
  const servers = f.memberServers();
  const contents = () =>
    Promise.all(
      servers.map(
        async (s) =>
          (await query<{ n: number; ids: number; hash: string }>(s, chaosQueries.content(table)))[0],
      ),
    );
  let last: Awaited<ReturnType<typeof contents>> = [];
  try {
    await waitFor(
      'the same rows on every member',
      async () => {
        last = await contents();
        return new Set(last.map((c) => c?.hash)).size === 1;
      },
      120_000,
    );
  } catch {
    problems.push(
      `members differ: ${servers.map((s, i) => `${s.name} ${last[i]?.n ?? '?'} rows`).join(', ')}`,
    );
  }
  const duplicates = last.reduce((n, c) => n + ((c?.n ?? 0) - (c?.ids ?? 0)), 0);
  if (duplicates > 0) problems.push(`${duplicates} keys held twice`);
  const lost = new Set<string>();
  for (const writer of f.members) {
    const ids = acked.get(writer) ?? [];
    if (ids.length === 0) continue;
    for (const s of servers) {
      for (const r of await query<{ id: string }>(s, chaosQueries.missing(table), [ids])) lost.add(r.id);
    }
  }
  if (lost.size > 0) problems.push(`${lost.size} acknowledged rows missing`);
  return { lost: lost.size, duplicates };
}

/** Every check, on a deployed federation (or, after a destroy, on servers that should hold none of it). */
export async function checkConvergence(
  f: FederationUnderTest,
  acked: Map<string, string[]>,
  deployed: boolean,
): Promise<Convergence> {
  const problems: string[] = [];
  const data = deployed ? await rows(f, acked, problems) : { lost: 0, duplicates: 0 };
  const settledAt = Date.now();
  let found: string[] = [];
  // Table-sync slots and origins of a copy still finishing go by themselves: wait a little.
  await waitFor(
    'no replication object beyond the declared ones',
    async () => (found = await orphans(f, deployed)).length === 0,
    30_000,
  ).catch(() => undefined);
  problems.push(...found);
  const refresh = await f.run(['refresh', '--yes', '--skip-preview', '--expect-no-changes']);
  if (refresh.code !== 0) problems.push(`pulumi refresh found changes: ${tail(refresh.output)}`);
  if (deployed) {
    const preview = await f.run(['preview', '--expect-no-changes']);
    if (preview.code !== 0) problems.push(`pulumi preview found changes: ${tail(preview.output)}`);
    const p = plan(configFromValues(f.rawConfig()));
    let unhealthy = '';
    await waitFor(
      'status healthy',
      async () => {
        const report = await collect(
          f.memberServers().map((s) => ({ name: s.name, connection: s.connection })),
          {
            tables: [{ schema: 'public', name: f.table().name }],
            maxLagBytes: 16 * 2 ** 20,
            subscriptions: subscriptionsOf(p),
            publications: publicationsOf(p),
          },
        );
        unhealthy = JSON.stringify(report.pairs.filter((x) => x.status !== 'ok').map((x) => x.problem));
        return report.healthy;
      },
      60_000,
    ).catch(() => problems.push(`status not healthy: ${unhealthy}`));
  }
  return {
    converged: problems.length === 0,
    rowsLost: data.lost,
    duplicates: data.duplicates,
    orphans: found,
    problems,
    settledAt,
  };
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-6).join(' | ');
}
