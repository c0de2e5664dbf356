/**
 * The federation's health, read from every member (then judged by judge.ts):
 * - per member: its subscriptions (enabled, apply worker, last message, sync states), its logical
 *   slots and how far each consumer is behind, and whether each federated table is there as declared;
 * - per partition of every table it holds: row count and a hash of the rows' text (canonical
 *   session settings), so every copy can be compared with its owner's.
 */
import { errorMessage, withClient } from '../../components/providers/connection';
import { qualified } from '../../components/providers/sql/identifiers';
import { type FederationPlan, plan } from '../../components/plan';
import { server } from '../../components/providers/sql/server';
import { stepsToDeclared } from '../../components/providers/tableChanges';
import { parseFederationConfig } from '../../components/stackConfig';
import { judgeReport } from './judge';
import { CANONICAL_SESSION, statusQueries } from './queries';
import type {
  MemberEndpoint,
  MemberFacts,
  PartitionRow,
  SlotRow,
  StatusReport,
  SubscriberRow,
  Subscription,
  TableRef,
} from './types';

/** The hash of an empty partition (string_agg over no rows is NULL). */
const md5OfNothing = 'empty';

async function facts(
  member: MemberEndpoint,
  tables: TableRef[],
  publication: string | undefined,
): Promise<MemberFacts> {
  return withClient(member.name, member.connection, async (client) => {
    for (const statement of CANONICAL_SESSION) await client.query(statement);
    const version = Number((await client.query<{ v: number }>(server.version)).rows[0]?.v ?? 0);
    const errors =
      version >= 150000
        ? new Map(
            (
              await client.query<{ subname: string; apply_errors: number }>(statusQueries.applyErrors)
            ).rows.map((r) => [r.subname, r.apply_errors]),
          )
        : undefined;
    const subs = await client.query<Omit<SubscriberRow, 'errors'>>(statusQueries.subscriptions);
    const published = new Set(
      publication === undefined
        ? []
        : (
            await client.query<{ schema: string; name: string }>(statusQueries.published, [publication])
          ).rows.map((r) => `${r.schema}.${r.name}`),
    );
    const unpublished: string[] = [];
    const slots = await client.query<SlotRow>(statusQueries.slots);
    const budget = Number((await client.query<{ mb: string }>(statusQueries.budget)).rows[0]?.mb ?? -1);
    const partitions: PartitionRow[] = [];
    const missingTables: string[] = [];
    const drift: string[] = [];
    for (const table of tables) {
      const name = qualified(table.schema, table.name);
      const found = await client.query<{ partition: string; schema: string; owner: string | null }>(
        statusQueries.partitions,
        [name],
      );
      const exists = await client.query<{ ok: boolean }>(statusQueries.tableExists, [name]);
      if (exists.rows[0]?.ok !== true) {
        missingTables.push(`${table.schema}.${table.name}`);
        continue;
      }
      if (table.spec !== undefined) {
        // How the member's table differs from its declaration: the steps `pulumi up` would take there.
        const steps = await stepsToDeclared(client, {
          ...table.spec,
          member: member.name,
          schema: table.schema,
          table: table.spec.name,
        });
        if (steps.length > 0)
          drift.push(`${table.schema}.${table.name}: up would ${steps.map((s) => s.describe).join('; ')}`);
      }
      for (const row of found.rows) {
        if (row.owner === null) continue; // the DEFAULT partition
        const own = row.owner.replace(/''/g, "'") === member.name;
        if (own && publication !== undefined && !published.has(`${row.schema}.${row.partition}`)) {
          unpublished.push(`${row.schema}.${row.partition}`);
        }
        const content = await client.query<{ n: string; hash: string | null }>(
          statusQueries.content(row.schema, row.partition),
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
      subscriptions: new Map(
        subs.rows.map((r) => [r.subname, { ...r, errors: errors?.get(r.subname) ?? null }]),
      ),
      unpublished,
      slots: new Map(slots.rows.map((r) => [r.slot_name, r])),
      budgetBytes: budget < 0 ? null : budget * 2 ** 20,
      partitions,
      missingTables,
      drift,
    };
  });
}

/**
 * The subscriptions of a full mesh of these members, as the plan names them (a stack's own plan,
 * or, for members named on the command line, the plan of a federation of those names).
 */
export function meshOf(names: string[]): FederationPlan {
  return plan(
    parseFederationConfig({
      members: names.map((name) => ({ name, kind: 'external', host: name })),
      maxMembers: Math.max(2, names.length),
    }),
  );
}

export function subscriptionsOf(p: FederationPlan): Subscription[] {
  return p.subscriptions.map((s) => ({
    subscriber: s.inputs.subscriber,
    publisher: s.inputs.publisher,
    name: s.inputs.name,
    slotName: s.inputs.slotName,
    resourceName: s.resourceName,
  }));
}

/** Each member's publication, as the plan names it. */
export function publicationsOf(p: FederationPlan): Record<string, string> {
  return Object.fromEntries(p.members.map((m) => [m.member.name, m.publication.inputs.name]));
}

/** Read every member, then judge every pair and every copy. */
export async function collect(
  members: MemberEndpoint[],
  opts: {
    tables: TableRef[];
    maxLagBytes: number;
    subscriptions?: Subscription[];
    publications?: Record<string, string>;
    slotRiskPercent?: number;
  },
): Promise<StatusReport> {
  const mesh = meshOf(members.map((m) => m.name));
  const publications = opts.publications ?? publicationsOf(mesh);
  const results = await Promise.all(
    members.map(async (m) => {
      try {
        return { member: m.name, facts: await facts(m, opts.tables, publications[m.name]) };
      } catch (err) {
        return { member: m.name, error: errorMessage(err, [m.connection.password]) };
      }
    }),
  );
  return judgeReport(results, {
    tables: opts.tables.map((t) => `${t.schema}.${t.name}`),
    subscriptions: opts.subscriptions ?? subscriptionsOf(mesh),
    maxLagBytes: opts.maxLagBytes,
    slotRiskPercent: opts.slotRiskPercent ?? 80,
  });
}
