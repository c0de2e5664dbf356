/**
 * Partition: one member's partition of the federated table, on one member's server.
 *
 * - create is idempotent: an existing partition with the same definition is adopted; a table of
 *   that name detached earlier (see delete) is attached again with its rows; anything else of that
 *   name is a clear error, never overwritten;
 * - another member's partition carries the ownership guard (sql/guard.sql), applied at create and
 *   again whenever its SQL changes; dropped with the partition, kept on a detached one;
 * - delete never drops rows unless asked (`onDelete: drop`): an empty partition is dropped, a
 *   non-empty one is detached and kept as a plain table (`detach`, the default) or left attached
 *   (`keep`), with a message saying which.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import {
  type PgConnection,
  type ResourceArgs,
  errorMessage,
  inSchemaTransaction,
  report,
  withClient,
} from './connection';
import { isSqlName } from '../naming';
import { FederationResource } from './resource';

export type PartitionDeletion = 'detach' | 'keep' | 'drop';

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
}

export type PartitionOutputs = PartitionInputs;

const DELETIONS: PartitionDeletion[] = ['detach', 'keep', 'drop'];

interface PartitionState {
  exists: boolean;
  parent: string | null;
  bound: string | null;
  hasRows: boolean;
}

async function inspect(client: Client, schema: string, partition: string): Promise<PartitionState> {
  const res = await client.query<{ parent: string | null; bound: string | null }>(
    `SELECT (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) AS parent,
            pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [schema, partition],
  );
  const row = res.rows[0];
  if (row === undefined) return { exists: false, parent: null, bound: null, hasRows: false };
  const pg: typeof import('pg') = require('pg');
  const rows = await client.query(
    `SELECT EXISTS (SELECT 1 FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(partition)}) AS has_rows`,
  );
  return { exists: true, parent: row.parent, bound: row.bound, hasRows: rows.rows[0].has_rows === true };
}

function expectedBound(owner: string): string {
  const pg: typeof import('pg') = require('pg');
  return `FOR VALUES IN (${pg.escapeLiteral(owner)})`;
}

export const partitionProvider = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const key of ['schema', 'table', 'partition'] as const) {
      if (!isSqlName(news[key])) {
        failures.push({ property: key, reason: `${key} must be a lowercase SQL name of at most 63 bytes` });
      }
    }
    if (!DELETIONS.includes(news.onDelete)) {
      failures.push({ property: 'onDelete', reason: `onDelete must be one of ${DELETIONS.join(', ')}` });
    }
    if (typeof news.createSql !== 'string' || news.createSql.trim() === '') {
      failures.push({ property: 'createSql', reason: 'createSql must be the rendered sql/partition.sql' });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = (['member', 'owner', 'schema', 'table', 'partition'] as const).filter(
      (key) => olds[key] !== news[key],
    );
    // The server endpoint or credentials may change (port-forward, rotation): same partition.
    const updates: string[] = (['onDelete', 'guardSql'] as const).filter((key) => olds[key] !== news[key]);
    if (JSON.stringify(olds.connection) !== JSON.stringify(news.connection)) updates.push('connection');
    return {
      changes: replaces.length + updates.length > 0,
      replaces,
      deleteBeforeReplace: true,
    };
  },

  async create(inputs) {
    const { member, owner, connection, schema, table, partition } = inputs;
    const where = `partition ${schema}.${partition} on member "${member}"`;
    try {
      await withClient(member, connection, (client) =>
        inSchemaTransaction(client, async () => {
          const state = await inspect(client, schema, partition);
          const bound = expectedBound(owner);
          if (!state.exists) {
            await client.query(inputs.createSql);
          } else if (state.parent === table && state.bound === bound) {
            // Already there (a re-run, or kept when its member left): adopt it.
          } else if (state.parent === null) {
            const pg: typeof import('pg') = require('pg');
            await client.query(
              `ALTER TABLE ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)} ATTACH PARTITION ` +
                `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(partition)} ${bound}`,
            );
            report(
              `${where}: attached the existing table ${schema}.${partition} (kept from an earlier detach) with its rows`,
            );
          } else {
            throw new Error(
              `${schema}.${partition} already exists as ${state.bound ?? 'a child'} of ${state.parent}, not as the ` +
                `partition of ${table} ${bound}; rename or drop it by hand, or choose another partitionTemplate`,
            );
          }
          if (inputs.guardSql !== '') await client.query(inputs.guardSql);
        }),
      );
    } catch (err) {
      throw new Error(`${where}: ${errorMessage(err, [connection.password])}`);
    }
    return { id: `${member}/${schema}.${partition}`, outs: inputs };
  },

  async read(id, props) {
    if (props === undefined) return { id, props };
    const state = await withClient(props.member, props.connection, (client) =>
      inspect(client, props.schema, props.partition),
    ).catch((err: unknown) => {
      throw new Error(errorMessage(err, [props.connection.password]));
    });
    return state.exists && state.parent === props.table ? { id, props } : { id: '', props };
  },

  async update(_id, olds, news) {
    if (news.guardSql !== olds.guardSql && news.guardSql !== '') {
      try {
        await withClient(news.member, news.connection, (client) =>
          inSchemaTransaction(client, () => client.query(news.guardSql)),
        );
      } catch (err) {
        throw new Error(
          `partition ${news.schema}.${news.partition} on member "${news.member}": ${errorMessage(err, [news.connection.password])}`,
        );
      }
    }
    return { outs: news };
  },

  async delete(_id, props) {
    const { member, connection, schema, table, partition, onDelete } = props;
    const where = `partition ${schema}.${partition} on member "${member}"`;
    try {
      await withClient(member, connection, (client) =>
        inSchemaTransaction(client, async () => {
          const state = await inspect(client, schema, partition);
          if (!state.exists || state.parent !== table) return;
          const pg: typeof import('pg') = require('pg');
          const qualified = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(partition)}`;
          if (!state.hasRows || onDelete === 'drop') {
            await client.query(`DROP TABLE ${qualified}`);
            if (state.hasRows) report(`${where}: dropped with its rows (partitionDeletion is "drop")`);
            return;
          }
          if (onDelete === 'keep') {
            report(`${where}: holds rows, left attached to ${table} (partitionDeletion is "keep")`);
            return;
          }
          await client.query(
            `ALTER TABLE ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)} DETACH PARTITION ${qualified}`,
          );
          report(
            `${where}: holds rows, so it was detached from ${table} and kept as table ${schema}.${partition}; ` +
              `drop it by hand when you no longer need the rows (or set partitionDeletion to "drop")`,
          );
        }),
      );
    } catch (err) {
      throw new Error(`${where}: ${errorMessage(err, [connection.password])}`);
    }
  },
} satisfies pulumi.dynamic.ResourceProvider<PartitionInputs, PartitionOutputs>;

export type PartitionArgs = ResourceArgs<PartitionInputs>;

/** A member's partition of the federated table on one server. */
export class Partition extends FederationResource {
  constructor(name: string, args: PartitionArgs, opts?: pulumi.CustomResourceOptions) {
    super(partitionProvider, 'Partition', name, args, ['connection'], opts);
  }
}
