/**
 * Partition: one member's partition of a federated table, on one member's server.
 *
 * - create is idempotent: an existing partition with the same definition is adopted; a table of
 *   that name detached earlier (see delete) is attached again; anything else of that name is a
 *   clear error, never overwritten;
 * - the member's OWN partition joins the member's publication when that already exists (a table
 *   added to a running federation); a new member's publication is created with it;
 * - another member's partition (a LANDING) carries the ownership guard (sql/guard.sql), and when the
 *   subscription that fills it already exists (a table added to a running federation), create
 *   refreshes that subscription and waits, bounded, until the partition's initial copy is ready. A
 *   kept copy re-attached with rows is emptied first, and only after the owner is seen to publish the
 *   partition to a role that can read it: the owner's rows are the truth;
 * - delete never drops rows unless asked (`onDelete: drop`): an empty partition is dropped, a
 *   non-empty one is detached and kept as a plain table (`detach`, the default) or left attached
 *   (`keep`), with a message saying which. An own partition leaves its publication first.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import type { PartitionDeletion } from '../enums';
import { PARTITION_DELETIONS } from '../enums';
import { isSqlName } from '../naming';
import {
  type PgConnection,
  type ResourceArgs,
  isUnreachable,
  configureProvider,
  explained,
  inTransaction,
  isLost,
  report,
  withClient,
} from './connection';
import { changedKeys, invalidKeys } from './inputs';
import { cleanRestoreLeftovers, copyLanding, restoreFromPeers } from './replication';
import { alignKeptTable } from './keptTable';
import { FederationResource } from './resource';
import { listBound } from './sql/identifiers';
import { type PartitionBound, partitions } from './sql/partitions';
import { publications } from './sql/publications';
import { subscriptions } from './sql/subscriptions';

export interface PartitionInputs {
  /** The member whose server holds this partition. */
  member: string;
  /** The member whose rows this partition holds (its LIST value). */
  owner: string;
  connection: PgConnection;
  schema: string;
  table: string;
  partition: string;
  /** `CREATE TABLE ... PARTITION OF ...` rendered from `sql/partition.sql`. Used at creation only. */
  createSql: string;
  /** The ownership guard (rendered `sql/guard.sql`, idempotent); '' on the member's own partition. */
  guardSql: string;
  onDelete: PartitionDeletion;
  /** Own partition: the member's publication. Landing: ''. */
  publication?: string;
  /** Landing: the subscription on this member to the owner. Own partition: ''. */
  subscription?: string;
  /** Landing: the owner's admin connection, to check what it publishes before a resync. */
  publisherConnection?: PgConnection;
  /** Landing: the role the subscription logs in as on the owner. */
  replicationUser?: string;
  /** How long an initial copy (a landing joining its subscription, a restore) may take. */
  syncTimeoutSeconds?: number;
  /**
   * Own partition: the other members, whose copies of it restore it when it is made anew on a
   * server that lost it (a disk gone, an empty server at the member's endpoint).
   */
  restoreFrom?: Array<{ member: string; connection: PgConnection; conninfo: string }>;
}

export interface PartitionOutputs extends PartitionInputs {
  /** Set by `read` when an own partition is missing from its member's publication: `up` adds it back. */
  published?: false;
}

interface PartitionState {
  exists: boolean;
  /** pg_class.relkind: 'r' a table, 'p' a partitioned table, anything else is not ours to touch. */
  kind: string | null;
  parent: string | null;
  bound: string | null;
  hasRows: boolean;
}

async function inspect(client: Client, b: PartitionBound): Promise<PartitionState> {
  const res = await client.query<{ parent: string | null; bound: string | null; kind: string }>(
    partitions.inspect,
    [b.schema, b.partition],
  );
  const row = res.rows[0];
  if (row === undefined) return { exists: false, kind: null, parent: null, bound: null, hasRows: false };
  const table = row.kind === 'r' || row.kind === 'p';
  const rows = table ? await client.query<{ has_rows: boolean }>(partitions.hasRows(b)) : undefined;
  return {
    exists: true,
    kind: row.kind,
    parent: row.parent,
    bound: row.bound,
    hasRows: rows?.rows[0]?.has_rows === true,
  };
}

function bound(inputs: PartitionInputs): PartitionBound {
  return { schema: inputs.schema, table: inputs.table, partition: inputs.partition, owner: inputs.owner };
}

function secretsOf(inputs: PartitionInputs): Array<string | undefined> {
  return [inputs.connection.password, inputs.publisherConnection?.password];
}

/** Create, adopt or re-attach the partition and its guard, in one transaction under the schema lock. */
async function ensurePartition(
  client: Client,
  inputs: PartitionInputs,
): Promise<{ attachedWithRows: boolean; created: boolean; hasRows: boolean }> {
  return inTransaction(
    client,
    async () => {
      const b = bound(inputs);
      const state = await inspect(client, b);
      let attachedWithRows = false;
      if (!state.exists) {
        await client.query(inputs.createSql);
      } else if (state.parent === inputs.table && state.bound === listBound(inputs.owner)) {
        // Already there (a re-run, or kept attached when its member left): adopt it.
      } else if (state.kind === 'r' && state.parent === null && state.bound === null) {
        await alignKeptTable(client, inputs);
        await client.query(partitions.attach(b));
        attachedWithRows = state.hasRows;
        report(
          `partition ${inputs.schema}.${inputs.partition} on member "${inputs.member}": attached the existing table ` +
            `${inputs.schema}.${inputs.partition} (kept from an earlier detach)${state.hasRows ? ' with its rows' : ''}`,
        );
      } else {
        const what =
          state.kind !== 'r' && state.kind !== 'p'
            ? `an object of relkind '${state.kind ?? '?'}'`
            : state.bound !== null
              ? `the partition ${state.bound}`
              : 'a table';
        throw new Error(
          `${inputs.schema}.${inputs.partition} already exists as ${what}` +
            `${state.parent !== null ? ` of ${state.parent}` : ''}, not as the partition of ${inputs.table} ` +
            `${listBound(inputs.owner)}; rename or drop it by hand, or choose another partitionTemplate`,
        );
      }
      if (inputs.guardSql !== '') await client.query(inputs.guardSql);
      return { attachedWithRows, created: !state.exists, hasRows: state.hasRows };
    },
    { schemaLock: true },
  );
}

/**
 * A member's own partition that its create finds empty — made anew on a server that lost it, or
 * left empty by a create cut short before its restore finished — is restored from the most advanced
 * of its peers' copies (components/providers/replication.ts), after what an interrupted restore left
 * is cleaned up. (Create runs only for a partition the state does not hold: never for a member
 * whose own rows were deleted on purpose.)
 */
async function restore(client: Client, inputs: PartitionInputs, empty: boolean): Promise<void> {
  const peers = inputs.restoreFrom ?? [];
  if ((inputs.publication ?? '') === '' || peers.length === 0) return;
  const r = {
    member: inputs.member,
    owner: inputs.owner,
    schema: inputs.schema,
    table: inputs.table,
    partition: inputs.partition,
    replicationUser: inputs.replicationUser ?? '',
    syncTimeoutSeconds: inputs.syncTimeoutSeconds ?? 300,
    peers,
  };
  await cleanRestoreLeftovers(client, r);
  if (empty) await restoreFromPeers(client, r);
}

/** An own partition joins its member's publication when the publication already exists. */
async function joinPublication(client: Client, inputs: PartitionInputs): Promise<void> {
  const publication = inputs.publication ?? '';
  if (publication === '') return;
  const res = await client.query<{ exists: boolean; member: boolean }>(publications.membership, [
    publication,
    inputs.schema,
    inputs.partition,
  ]);
  const row = res.rows[0];
  if (row?.exists === true && !row.member) {
    await client.query(publications.addTable(publication, inputs.schema, inputs.partition));
    report(
      `publication ${publication} on member "${inputs.member}" now publishes ${inputs.schema}.${inputs.partition}`,
    );
  }
}

/**
 * A landing partition of a running subscription: the subscription copies it from its owner, and
 * `up` waits until the copy is ready (a stale copy, kept from before, is emptied first).
 */
async function joinSubscription(
  client: Client,
  inputs: PartitionInputs,
  attachedWithRows: boolean,
): Promise<void> {
  const subscription = inputs.subscription ?? '';
  if (subscription === '') return;
  const found = await client.query<{ publications: string[] }>(subscriptions.find, [subscription]);
  const publication = found.rows[0]?.publications[0];
  if (publication === undefined) return; // a new member: its subscription copies everything when created
  const hasRows = (await client.query<{ has_rows: boolean }>(partitions.hasRows(bound(inputs)))).rows[0]
    ?.has_rows;
  await copyLanding(
    client,
    {
      member: inputs.member,
      owner: inputs.owner,
      schema: inputs.schema,
      table: inputs.table,
      partition: inputs.partition,
      subscription,
      publication,
      replicationUser: inputs.replicationUser ?? '',
      syncTimeoutSeconds: inputs.syncTimeoutSeconds ?? 300,
    },
    inputs.publisherConnection,
    hasRows === true || attachedWithRows,
  );
}

export const partitionProvider = {
  configure: configureProvider,

  async check(_olds, news) {
    const sqlName = 'must be a lowercase SQL name of at most 63 bytes';
    const failures = invalidKeys(news, [
      ['schema', isSqlName, `schema ${sqlName}`],
      ['table', isSqlName, `table ${sqlName}`],
      ['partition', isSqlName, `partition ${sqlName}`],
      [
        'onDelete',
        (v) => (PARTITION_DELETIONS as readonly unknown[]).includes(v),
        `onDelete must be one of ${PARTITION_DELETIONS.join(', ')}`,
      ],
      [
        'createSql',
        (v) => typeof v === 'string' && v.trim() !== '',
        'createSql must be the rendered sql/partition.sql',
      ],
    ]);
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, ['member', 'owner', 'schema', 'table', 'partition']);
    // The server endpoint or credentials may change (port-forward, rotation): same partition. What
    // is used only at creation (createSql, publication, subscription, the owner's connection) is not
    // compared.
    const updates: string[] = changedKeys(olds, news, ['onDelete', 'guardSql', 'connection']);
    // A refresh found it missing from its publication (dropped by hand): its peers get none of it.
    if ((olds as PartitionOutputs).published === false) updates.push('publication');
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const where = `partition ${inputs.schema}.${inputs.partition} on member "${inputs.member}"`;
    await explained(where, secretsOf(inputs), () =>
      withClient(inputs.member, inputs.connection, async (client) => {
        const { attachedWithRows, created, hasRows } = await ensurePartition(client, inputs);
        await restore(client, inputs, created || !hasRows);
        await joinPublication(client, inputs);
        await joinSubscription(client, inputs, attachedWithRows);
      }),
    );
    return { id: `${inputs.member}/${inputs.schema}.${inputs.partition}`, outs: inputs };
  },

  async read(id, props?: PartitionOutputs) {
    if (props === undefined) return { id, props };
    const found = await explained(
      `partition ${props.partition} on member "${props.member}"`,
      secretsOf(props),
      () =>
        withClient(props.member, props.connection, async (client) => {
          const state = await inspect(client, bound(props));
          const publication = props.publication ?? '';
          if (publication === '' || !state.exists) return { state, published: true };
          const row = (
            await client.query<{ exists: boolean; member: boolean }>(publications.membership, [
              publication,
              props.schema,
              props.partition,
            ])
          ).rows[0];
          return { state, published: row?.exists !== true || row.member };
        }),
    );
    if (!found.state.exists || found.state.parent !== props.table) return { id: '', props };
    const rest: PartitionOutputs = { ...props };
    delete rest.published;
    return { id, props: found.published ? rest : { ...rest, published: false as const } };
  },

  async update(_id, olds: PartitionOutputs, news) {
    if (olds.published === false) {
      await explained(
        `partition ${news.schema}.${news.partition} on member "${news.member}"`,
        secretsOf(news),
        () => withClient(news.member, news.connection, (client) => joinPublication(client, news)),
      );
      report(
        `rows written to ${news.schema}.${news.partition} while it was not published reached no peer: ` +
          '`npm run status` names the copies that differ, and the command that re-copies each',
      );
    }
    if (news.guardSql !== olds.guardSql && news.guardSql !== '') {
      await explained(
        `partition ${news.schema}.${news.partition} on member "${news.member}"`,
        secretsOf(news),
        () =>
          withClient(news.member, news.connection, (client) =>
            inTransaction(client, () => client.query(news.guardSql), { schemaLock: true }),
          ),
      );
    }
    return { outs: news };
  },

  async delete(_id, props) {
    const { member, schema, table, partition, onDelete } = props;
    const where = `partition ${schema}.${partition} on member "${member}"`;
    try {
      await explained(where, secretsOf(props), () =>
        withClient(member, props.connection, (client) =>
          inTransaction(
            client,
            async () => {
              const b = bound(props);
              const state = await inspect(client, b);
              if (!state.exists || state.parent !== table) return;
              const publication = props.publication ?? '';
              if (publication !== '') {
                const res = await client.query<{ member: boolean }>(publications.membership, [
                  publication,
                  schema,
                  partition,
                ]);
                if (res.rows[0]?.member === true)
                  await client.query(publications.dropTable(publication, schema, partition));
              }
              if (!state.hasRows || onDelete === 'drop') {
                await client.query(partitions.drop(b));
                if (state.hasRows) report(`${where}: dropped with its rows (partitionDeletion is "drop")`);
                return;
              }
              if (onDelete === 'keep') {
                report(`${where}: holds rows, left attached to ${table} (partitionDeletion is "keep")`);
                return;
              }
              await client.query(partitions.detach(b));
              report(
                `${where}: holds rows, so it was detached from ${table} and kept as table ${schema}.${partition}; ` +
                  `drop it by hand when you no longer need the rows (or set partitionDeletion to "drop")`,
              );
            },
            { schemaLock: true },
          ),
        ),
      );
    } catch (err) {
      // A server declared lost took its partitions with it.
      if (isUnreachable(err) && isLost(member)) {
        report(
          `${where}: member "${member}" is listed in lostMembers and unreachable; forgotten without reaching it`,
        );
        return;
      }
      throw err;
    }
  },
} satisfies pulumi.dynamic.ResourceProvider<PartitionInputs, PartitionOutputs>;

export type PartitionArgs = ResourceArgs<PartitionInputs>;

/** A member's partition of a federated table on one server. */
export class Partition extends FederationResource {
  constructor(name: string, args: PartitionArgs, opts?: pulumi.CustomResourceOptions) {
    super('partition', 'Partition', name, args, ['connection', 'publisherConnection', 'restoreFrom'], opts);
  }
}
