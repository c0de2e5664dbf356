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
import { SEED_TABLE } from '../config/tables';
import {
  type PgConnection,
  type ResourceArgs,
  configureProvider,
  explained,
  inTransaction,
  report,
  withClient,
} from './connection';
import { changedKeys, containsUnknown, invalidKeys, sameValue } from './inputs';
import { FederationResource } from './resource';
import { type TableShape, declaredShape, readShape, shapeSteps } from './shape';
import type { DeclaredColumn, ShapeCheck, ShapeIndex } from './sql/tables';
import { blocked, converge, peersHaveColumns, peersReachable, stepsToDeclared } from './tableChanges';

export interface FederatedTableInputs {
  member: string;
  connection: PgConnection;
  schema: string;
  table: string;
  columns: DeclaredColumn[];
  primaryKey: string[];
  ownerColumn: string;
  defaultPartition: string;
  indexes?: ShapeIndex[];
  checks?: ShapeCheck[];
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
  /**
   * Set by `check` when some of those steps remove something (allowDestructiveChanges): what the
   * policy pack's stale-flag rule looks for.
   */
  destructiveChanges?: string[];
}

export type FederatedTableOutputs = FederatedTableInputs;

const SHAPE_KEYS = ['columns', 'primaryKey', 'ownerColumn', 'defaultPartition', 'indexes', 'checks'] as const;

/**
 * The first version of this program recorded only the table's SQL text: its table was the seed's
 * `hippos`, so a stack made then sees no change while its table is still declared that way.
 */
function previousShape(olds: FederatedTableInputs): TableShape {
  const recorded = olds as Partial<FederatedTableInputs> & { member: string };
  return recorded.columns !== undefined
    ? declaredShape(olds)
    : declaredShape({ ...SEED_TABLE, member: recorded.member });
}

/**
 * Apply the table's SQL, then bring it to its declared shape. A table this create makes anew holds
 * no row yet, so nothing a destructive step removes or forbids can be there: its checks and NOT NULLs
 * are made at once.
 */
async function apply(inputs: FederatedTableInputs, creating = false): Promise<void> {
  await explained(
    `table ${inputs.schema}.${inputs.table} on member "${inputs.member}"`,
    secretsOf(inputs),
    () =>
      withClient(inputs.member, inputs.connection, async (client) => {
        const fresh = creating && (await readShape(client, inputs.schema, inputs.table)) === undefined;
        await inTransaction(client, () => client.query(inputs.sql), { schemaLock: true });
        await converge(client, fresh ? { ...inputs, allowDestructive: true } : inputs);
      }),
  );
}

function secretsOf(inputs: FederatedTableInputs): Array<string | undefined> {
  return [inputs.connection.password, ...(inputs.peers ?? []).map((p) => p.connection.password)];
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
      const destructive = steps.filter((s) => s.kind === 'destructive').map((s) => s.describe);
      return {
        inputs: {
          ...news,
          plannedChanges: steps.map((s) => s.describe),
          ...(destructive.length > 0 ? { destructiveChanges: destructive } : {}),
        },
        failures,
      };
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
          ...SHAPE_KEYS.filter((key) => !sameValue(news[key] ?? [], SEED_TABLE[key])),
        ]
      : changedKeys(olds, news, [...SHAPE_KEYS, 'sql', 'connection'], { indexes: none, checks: none });
    return { changes: replaces.length + updates.length > 0, replaces };
  },

  async create(inputs) {
    await apply(inputs, true);
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
    super('federatedTable', 'FederatedTable', name, args, ['connection', 'peers'], opts);
  }
}
