/**
 * FederatedTable: one federated table on one member — the table, its DEFAULT partition with its
 * guard, local-row routing, and what every table shares (the ownership guard function, the check
 * that the server is the member the config says) — applied from the SQL the plan renders from
 * `sql/federation.sql` and `sql/table.sql`.
 *
 * The SQL is idempotent and runs in one transaction under the federation's advisory lock, so a
 * re-run after a failure, or two runs at once, converge. Its shape (columns, primary key, owner
 * column, DEFAULT partition) is an input, so a change shows in `pulumi preview`. Delete never drops
 * the table: it holds every member's rows.
 */
import * as pulumi from '@pulumi/pulumi';
import type { ColumnSpec } from '../tables';
import {
  type PgConnection,
  type ResourceArgs,
  configureProvider,
  explained,
  inSchemaTransaction,
  report,
  withClient,
} from './connection';
import { changedKeys, invalidKeys, sameValue } from './inputs';
import { FederationResource } from './resource';

export interface FederatedTableInputs {
  member: string;
  connection: PgConnection;
  schema: string;
  table: string;
  columns: ColumnSpec[];
  primaryKey: string[];
  ownerColumn: string;
  defaultPartition: string;
  /** The rendered DDL that brings the server to this shape. */
  sql: string;
}

export type FederatedTableOutputs = FederatedTableInputs;

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
};

async function apply(inputs: FederatedTableInputs): Promise<void> {
  await explained(
    `table ${inputs.schema}.${inputs.table} on member "${inputs.member}"`,
    [inputs.connection.password],
    () =>
      withClient(inputs.member, inputs.connection, (client) =>
        inSchemaTransaction(client, () => client.query(inputs.sql)),
      ),
  );
}

export const federatedTableProvider = {
  configure: configureProvider,

  async check(_olds, news) {
    const failures = invalidKeys(news, [
      ['sql', (v) => typeof v === 'string' && v.trim() !== '', 'sql must be the rendered sql/table.sql'],
    ]);
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, ['member', 'schema', 'table']);
    const shape = ['columns', 'primaryKey', 'ownerColumn', 'defaultPartition'] as const;
    const legacy = !('columns' in olds);
    const updates = legacy
      ? [
          ...changedKeys(olds, news, ['connection']),
          ...shape.filter((key) => !sameValue(news[key], SEED_SHAPE[key])),
        ]
      : changedKeys(olds, news, [...shape, 'sql', 'connection']);
    return { changes: replaces.length + updates.length > 0, replaces };
  },

  async create(inputs) {
    await apply(inputs);
    return { id: `${inputs.member}/${inputs.schema}.${inputs.table}`, outs: inputs };
  },

  async read(id, props) {
    // A server that lost the table (a disk gone) makes `pulumi refresh` forget it, so `up` makes it again.
    if (props === undefined) return { id, props };
    const exists = await explained(
      `table ${props.schema}.${props.table} on member "${props.member}"`,
      [props.connection.password],
      () =>
        withClient(
          props.member,
          props.connection,
          async (client) =>
            (
              await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
                `${props.schema}.${props.table}`,
              ])
            ).rows[0]?.ok === true,
        ),
    );
    return exists ? { id, props } : { id: '', props };
  },

  async update(_id, _olds, news) {
    await apply(news);
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
    super(federatedTableProvider, 'FederatedTable', name, args, ['connection'], opts);
  }
}
