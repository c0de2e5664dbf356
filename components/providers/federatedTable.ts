/**
 * FederatedTable: one federated table on one member — the table, its DEFAULT partition with its
 * guard, local-row routing, what every table shares (the ownership guard function, the check that
 * the server is the member the config says) — and its declared shape: columns, defaults, NOT NULL,
 * indexes, checks.
 *
 * - create applies the SQL the plan renders (idempotent, one transaction under the federation's
 *   advisory lock), then brings the table to its declared shape;
 * - a change of shape is an update, never a replacement. `check` lists the steps it will take
 *   (`plannedChanges`, shown by `pulumi preview --diff`) and refuses what cannot be done safely (a type
 *   change, a NOT NULL column without a default) or what removes something (a column, a tighter
 *   constraint) unless allowDestructiveChanges is set. The update first makes sure every member can be
 *   reached (nothing is changed anywhere otherwise), runs the additive steps (indexes concurrently, on
 *   each partition), and returns only once every member has the new columns. A column is dropped
 *   only after every member has stopped sending it (publication column lists, PostgreSQL 15+), so no
 *   subscription ever receives a column its table lacks;
 * - read reports a table that is gone (a member that lost its disk) or whose shape drifted;
 * - delete never drops the table: it holds every member's rows.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import type { CheckSpec, ColumnSpec, IndexSpec } from '../tables';
import {
  type PgConnection,
  type ResourceArgs,
  Unreachable,
  configureProvider,
  explained,
  inSchemaTransaction,
  report,
  withClient,
} from './connection';
import { changedKeys, containsUnknown, invalidKeys, sameValue } from './inputs';
import { FederationResource } from './resource';
import { type ShapeStep, type TableShape, canonicalColumns, readShape, shapeSteps } from './shape';
import { listBound, qualified } from './statements';

export interface FederatedTableInputs {
  member: string;
  connection: PgConnection;
  schema: string;
  table: string;
  columns: ColumnSpec[];
  primaryKey: string[];
  ownerColumn: string;
  defaultPartition: string;
  indexes?: IndexSpec[];
  checks?: CheckSpec[];
  /** The rendered DDL that makes the table (idempotent). */
  sql: string;
  /** pg-federation:allowDestructiveChanges: drop columns, tighten constraints. */
  allowDestructive?: boolean;
  /** The member's publication, whose column lists stop a dropped column from being sent. */
  publication?: string;
  /** The other members: all reachable before a change of shape, all holding it before it returns. */
  peers?: Array<{ member: string; connection: PgConnection }>;
  syncTimeoutSeconds?: number;
  /** Set by `check`: the steps an update takes, for the preview. */
  plannedChanges?: string[];
}

export type FederatedTableOutputs = FederatedTableInputs;

const SHAPE_KEYS = ['columns', 'primaryKey', 'ownerColumn', 'defaultPartition', 'indexes', 'checks'] as const;

/**
 * The seed's `hippos` as the first version of this program created it, from state that recorded
 * only its SQL text: a stack made then sees no change while its table is still declared this way.
 */
const SEED_SHAPE = {
  columns: [
    { name: 'id', type: 'uuid', notNull: true, defaultExpression: 'gen_random_uuid()' },
    { name: 'node_name', type: 'text', notNull: false },
    { name: 'value', type: 'datemultirange', notNull: false },
    { name: 'created_at', type: 'timestamptz', notNull: false },
  ],
  primaryKey: ['id'],
  ownerColumn: 'node_name',
  defaultPartition: 'hippo_default',
  indexes: [],
  checks: [],
};

/** The declared shape, defaults as SQL text (the owner column defaults to the member's name). */
export function declaredShape(
  i: Pick<FederatedTableInputs, 'member' | 'columns' | 'ownerColumn' | 'indexes' | 'checks'>,
): TableShape {
  const { escapeLiteral } = require('pg') as typeof import('pg');
  const columns = i.columns.some((c) => c.name === i.ownerColumn)
    ? i.columns
    : [...i.columns, { name: i.ownerColumn, type: 'text', notNull: false }];
  return {
    columns: columns.map((c) => {
      const dflt =
        c.name === i.ownerColumn
          ? escapeLiteral(i.member)
          : c.defaultExpression !== undefined
            ? c.defaultExpression
            : c.default === undefined
              ? undefined
              : typeof c.default === 'string'
                ? escapeLiteral(c.default)
                : String(c.default);
      return {
        name: c.name,
        type: c.type,
        notNull: c.notNull,
        ...(dflt !== undefined ? { default: dflt } : {}),
      };
    }),
    indexes: i.indexes ?? [],
    checks: i.checks ?? [],
  };
}

/** What the state says was declared last (the seed's, for state from the first release). */
function previousShape(olds: FederatedTableInputs): TableShape {
  const recorded = olds as Partial<FederatedTableInputs> & { member: string };
  return recorded.columns !== undefined
    ? declaredShape(olds)
    : declaredShape({ ...SEED_SHAPE, member: recorded.member });
}

/** Why these steps cannot run as declared, or undefined. */
function blocked(steps: ShapeStep[], allowDestructive: boolean): string | undefined {
  const refused = steps.filter((s) => s.kind === 'refused');
  if (refused.length > 0) return refused.map((s) => `${s.describe} is refused: ${s.reason ?? ''}`).join('; ');
  const destructive = steps.filter((s) => s.kind === 'destructive');
  if (destructive.length > 0 && !allowDestructive) {
    return (
      `${destructive.map((s) => s.describe).join(', ')} would remove what a member may still use or write; once no member ` +
      'does, set pg-federation:allowDestructiveChanges to true and run again'
    );
  }
  return undefined;
}

async function apply(inputs: FederatedTableInputs): Promise<void> {
  await explained(
    `table ${inputs.schema}.${inputs.table} on member "${inputs.member}"`,
    secretsOf(inputs),
    () =>
      withClient(inputs.member, inputs.connection, async (client) => {
        await inSchemaTransaction(client, () => client.query(inputs.sql));
        await converge(client, inputs);
      }),
  );
}

function secretsOf(inputs: FederatedTableInputs): Array<string | undefined> {
  return [inputs.connection.password, ...(inputs.peers ?? []).map((p) => p.connection.password)];
}

/** The table's actual shape against the declared one: the steps that bring it there. */
async function stepsToDeclared(client: Client, inputs: FederatedTableInputs): Promise<ShapeStep[]> {
  const actual = await readShape(client, inputs.schema, inputs.table);
  if (actual === undefined) throw new Error(`${inputs.schema}.${inputs.table} does not exist`);
  const declared = declaredShape(inputs);
  const canonical = { ...declared, columns: await canonicalColumns(client, declared.columns) };
  // Checks compare by name (the catalog prints expressions its own way).
  const actualChecks = actual.checks.map((c) => declared.checks.find((d) => d.name === c.name) ?? c);
  return shapeSteps(inputs.schema, inputs.table, { ...actual, checks: actualChecks }, canonical);
}

/** Partitions of the table: name, and the member whose rows each holds (null: the DEFAULT one). */
async function partitionsOf(
  client: Client,
  schema: string,
  table: string,
): Promise<Array<{ name: string; bound: string | null }>> {
  const res = await client.query<{ name: string; bound: string | null }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1)`,
    [qualified(schema, table)],
  );
  return res.rows;
}

/**
 * An index on every partition, each built CONCURRENTLY (writes go on), attached to the parent index
 * made ON ONLY the parent: PostgreSQL builds no partitioned index concurrently in one statement.
 */
async function createIndex(client: Client, inputs: FederatedTableInputs, index: IndexSpec): Promise<void> {
  const pg: typeof import('pg') = require('pg');
  const cols = `(${index.columns.map((c) => pg.escapeIdentifier(c)).join(', ')})`;
  const unique = index.unique ? 'UNIQUE ' : '';
  await client.query(
    `CREATE ${unique}INDEX IF NOT EXISTS ${pg.escapeIdentifier(index.name)} ON ONLY ${qualified(inputs.schema, inputs.table)} ${cols}`,
  );
  for (const part of await partitionsOf(client, inputs.schema, inputs.table)) {
    const name = partitionIndexName(part.name, index);
    // A build interrupted earlier leaves an invalid index behind: drop that one, keep a valid one.
    const invalid = await client.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid`,
      [inputs.schema, name],
    );
    if (invalid.rowCount === 1)
      await client.query(`DROP INDEX CONCURRENTLY ${qualified(inputs.schema, name)}`);
    await client.query(
      `CREATE ${unique}INDEX CONCURRENTLY IF NOT EXISTS ${pg.escapeIdentifier(name)} ON ${qualified(inputs.schema, part.name)} ${cols}`,
    );
    await client
      .query(
        `ALTER INDEX ${qualified(inputs.schema, index.name)} ATTACH PARTITION ${qualified(inputs.schema, name)}`,
      )
      .catch((err: unknown) => {
        if (!/is already attached|already has an attached/i.test(String(err))) throw err;
      });
  }
}

/** The name PostgreSQL gives a partition's index (`<partition>_<columns>_idx`, `_key` when unique), clipped to 63 bytes. */
function partitionIndexName(partition: string, index: IndexSpec): string {
  const label = index.unique ? 'key' : 'idx';
  let base = `${partition}_${index.columns.join('_')}`;
  while (Buffer.byteLength(base) > 63 - label.length - 1) base = base.slice(0, -1);
  return `${base}_${label}`;
}

/** Bring the table to its declared shape (see the module comment). */
async function converge(client: Client, inputs: FederatedTableInputs): Promise<void> {
  const steps = await stepsToDeclared(client, inputs);
  if (steps.length === 0) return;
  const why = blocked(steps, inputs.allowDestructive === true);
  if (why !== undefined) throw new Error(why);
  const where = `${inputs.schema}.${inputs.table} on "${inputs.member}"`;
  const additive = steps.filter((s) => s.kind === 'additive');
  const destructive = steps.filter((s) => s.kind === 'destructive');
  await inSchemaTransaction(client, async () => {
    for (const step of additive) for (const sql of step.sql) await client.query({ text: sql, values: [] });
  });
  for (const step of additive) if (step.index !== undefined) await createIndex(client, inputs, step.index);
  const drops = destructive
    .filter((s) => s.describe.startsWith('drop column'))
    .map((s) => s.column as string);
  if (drops.length > 0) await dropColumns(client, inputs, drops);
  await inSchemaTransaction(client, async () => {
    for (const step of destructive.filter((s) => !s.describe.startsWith('drop column'))) {
      // One statement each, by the extended protocol: a check's expression is SQL (held to a grammar).
      for (const sql of step.sql)
        await client.query({ text: sql, values: [], queryMode: 'extended' } as import('pg').QueryConfig);
    }
  });
  report(`${where}: ${steps.map((s) => s.describe).join('; ')}`);
}

/** Every other member must be reachable before a change of shape: otherwise nothing is changed anywhere. */
async function peersReachable(inputs: FederatedTableInputs): Promise<void> {
  const down: string[] = [];
  for (const peer of inputs.peers ?? []) {
    try {
      await withClient(peer.member, peer.connection, async () => undefined);
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
      down.push(peer.member);
    }
  }
  if (down.length > 0) {
    throw new Error(
      `member(s) ${down.map((d) => `"${d}"`).join(', ')} cannot be reached; a table's shape changes on every member together, ` +
        'so nothing was changed here. Bring them back (or remove them from members) and run again',
    );
  }
}

/** Wait, bounded, until every other member has every declared column: the update returns then. */
async function peersHaveColumns(inputs: FederatedTableInputs): Promise<void> {
  const wanted = declaredShape(inputs).columns.map((c) => c.name);
  const deadline = Date.now() + (inputs.syncTimeoutSeconds ?? 300) * 1000;
  for (const peer of inputs.peers ?? []) {
    for (;;) {
      const shape = await withClient(peer.member, peer.connection, (c) =>
        readShape(c, inputs.schema, inputs.table),
      );
      const missing = wanted.filter((name) => !(shape?.columns ?? []).some((c) => c.name === name));
      if (missing.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `member "${peer.member}" still lacks column(s) ${missing.join(', ')} of ${inputs.table}; its own update says why`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Drop columns without ever sending a subscriber a column its table lacks: this member's publication
 * first stops sending them (a column list, PostgreSQL 15+), every other member is waited for until
 * it has done the same and this member has applied everything it sent before, and only then are the
 * columns dropped here; the column list goes with them.
 */
async function dropColumns(client: Client, inputs: FederatedTableInputs, drops: string[]): Promise<void> {
  const pg: typeof import('pg') = require('pg');
  const version = async (c: Client) =>
    Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v);
  const old: string[] = [];
  if ((await version(client)) < 150000) old.push(inputs.member);
  for (const peer of inputs.peers ?? []) {
    if ((await withClient(peer.member, peer.connection, version)) < 150000) old.push(peer.member);
  }
  if (old.length > 0) {
    throw new Error(
      `dropping ${drops.join(', ')} is refused: ${old.join(', ')} run PostgreSQL 14, whose publications cannot stop sending a column ` +
        '(column lists need 15), and a subscriber whose table lacks a column it is sent stops. Upgrade them first, or leave the column',
    );
  }
  const publication = inputs.publication ?? '';
  const own = (await partitionsOf(client, inputs.schema, inputs.table)).filter(
    (p) => p.bound === listBound(inputs.member),
  );
  const shape = await readShape(client, inputs.schema, inputs.table);
  const kept = (shape?.columns ?? []).map((c) => c.name).filter((c) => !drops.includes(c));
  const list = `(${kept.map((c) => pg.escapeIdentifier(c)).join(', ')})`;
  const setList = async (columns: string) =>
    inSchemaTransaction(client, async () => {
      for (const p of own) {
        const listed = await client.query(
          'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
          [publication, inputs.schema, p.name],
        );
        if (listed.rowCount === 0) continue;
        await client.query(
          `ALTER PUBLICATION ${pg.escapeIdentifier(publication)} DROP TABLE ${qualified(inputs.schema, p.name)}`,
        );
        await client.query(
          `ALTER PUBLICATION ${pg.escapeIdentifier(publication)} ADD TABLE ${qualified(inputs.schema, p.name)} ${columns}`,
        );
      }
    });
  await setList(list);
  // Every other member stops sending them too, and this member has applied all it sent before.
  const deadline = Date.now() + (inputs.syncTimeoutSeconds ?? 300) * 1000;
  const slotHere = `sub_${inputs.member.replace(/-/g, '_')}`;
  const slot = `${slotHere}_`;
  for (const peer of inputs.peers ?? []) {
    // The position on the peer after which it no longer sends the columns; then this member's
    // subscription to it must have applied up to there. Writes go on meanwhile.
    let target: string | undefined;
    for (;;) {
      const ready = await withClient(peer.member, peer.connection, async (pc) => {
        if (target === undefined) {
          const sending = await pc.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_publication_tables t
              WHERE t.schemaname = $1 AND t.tablename IN (SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                                            WHERE i.inhparent = to_regclass($2))
                AND (t.attnames IS NULL OR t.attnames && $3::name[])`,
            [inputs.schema, qualified(inputs.schema, inputs.table), drops],
          );
          if (Number(sending.rows[0]?.n ?? 0) > 0) return false;
          target = (await pc.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn;
        }
        const applied = await pc.query<{ done: boolean }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
          [`${slot}${peer.member.replace(/-/g, '_')}`, target],
        );
        return applied.rows[0]?.done !== false;
      });
      if (ready) break;
      if (Date.now() > deadline) {
        throw new Error(
          `member "${peer.member}" has not stopped sending ${drops.join(', ')} yet; nothing was dropped here, run again`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  await inSchemaTransaction(client, async () => {
    for (const c of drops)
      await client.query(
        `ALTER TABLE ${qualified(inputs.schema, inputs.table)} DROP COLUMN IF EXISTS ${pg.escapeIdentifier(c)}`,
      );
  });
  await setList('');
}

export const federatedTableProvider = {
  configure: configureProvider,

  async check(olds, news) {
    const failures = invalidKeys(news, [
      ['sql', (v) => typeof v === 'string' && v.trim() !== '', 'sql must be the rendered sql/table.sql'],
    ]);
    // An existing table: what an update will do, for the preview, and what it refuses.
    if (
      olds !== undefined &&
      'sql' in olds &&
      !SHAPE_KEYS.some((k) => containsUnknown(news[k])) &&
      !containsUnknown(news.member)
    ) {
      const steps = shapeSteps(news.schema, news.table, previousShape(olds), declaredShape(news));
      const why = blocked(steps, news.allowDestructive === true);
      if (why !== undefined)
        failures.push({ property: 'columns', reason: `table ${news.table} on "${news.member}": ${why}` });
      return { inputs: { ...news, plannedChanges: steps.map((s) => s.describe) }, failures };
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, ['member', 'schema', 'table']);
    const legacy = !('columns' in olds);
    // Keys a newer version added: no change while they hold what the older one did without them.
    const none = (v: unknown) => v === undefined || (Array.isArray(v) && v.length === 0);
    const updates = legacy
      ? [
          ...changedKeys(olds, news, ['connection']),
          ...SHAPE_KEYS.filter((key) => !sameValue(news[key] ?? [], SEED_SHAPE[key])),
        ]
      : changedKeys(olds, news, [...SHAPE_KEYS, 'sql', 'connection'], { indexes: none, checks: none });
    return { changes: replaces.length + updates.length > 0, replaces };
  },

  async create(inputs) {
    await apply(inputs);
    return { id: `${inputs.member}/${inputs.schema}.${inputs.table}`, outs: inputs };
  },

  async read(id, props) {
    // A server that lost the table (a disk gone) makes `pulumi refresh` forget it, so `up` makes it
    // again; a shape that drifted (changed by hand) is recorded, so `up` brings it back.
    if (props === undefined) return { id, props };
    const state = await explained(
      `table ${props.schema}.${props.table} on member "${props.member}"`,
      secretsOf(props),
      () =>
        withClient(props.member, props.connection, async (client) => {
          const shape = await readShape(client, props.schema, props.table);
          return shape === undefined ? undefined : (await stepsToDeclared(client, props)).length;
        }),
    );
    if (state === undefined) return { id: '', props };
    return {
      id,
      props:
        state === 0
          ? props
          : { ...props, sql: `${props.sql}\n-- drifted: found a shape other than declared` },
    };
  },

  async update(_id, olds, news) {
    const where = `table ${news.schema}.${news.table} on member "${news.member}"`;
    const steps = shapeSteps(news.schema, news.table, previousShape(olds), declaredShape(news));
    if (steps.length > 0) await explained(where, secretsOf(news), () => peersReachable(news));
    await apply(news);
    if (steps.some((s) => s.column !== undefined))
      await explained(where, secretsOf(news), () => peersHaveColumns(news));
    return { outs: news };
  },

  async delete(_id, props) {
    report(
      `table ${props.schema}.${props.table} on member "${props.member}" is no longer managed and was kept with its rows; ` +
        `drop it by hand if it is no longer needed`,
    );
  },
} satisfies pulumi.dynamic.ResourceProvider<FederatedTableInputs, FederatedTableOutputs>;

export type FederatedTableArgs = ResourceArgs<FederatedTableInputs>;

/** A federated table on one member. */
export class FederatedTable extends FederationResource {
  constructor(name: string, args: FederatedTableArgs, opts?: pulumi.CustomResourceOptions) {
    super(federatedTableProvider, 'FederatedTable', name, args, ['connection', 'peers'], opts);
  }
}
