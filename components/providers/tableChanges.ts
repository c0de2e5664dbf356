/**
 * A federated table brought to its declared shape on one member, in an order that never stops a
 * subscription: additive steps at once (indexes built concurrently on each partition), destructive
 * ones only with allowDestructiveChanges, a column dropped only after every member has stopped
 * sending it. A change of shape runs only when every member can be reached, and returns once every
 * member has the new columns. Serialized by value into the FederatedTable provider.
 */
import type { Client } from 'pg';
import { slotName } from '../naming';
import { type PgConnection, isUnreachable, inTransaction, report, withClient } from './connection';
import { type ShapeStep, canonicalColumns, declaredShape, readShape, shapeSteps } from './shape';
import { columnList, listBound, qualified } from './sql/identifiers';
import { partitions } from './sql/partitions';
import { publications } from './sql/publications';
import { server } from './sql/server';
import { slots } from './sql/slots';
import {
  type DeclaredColumn,
  type ShapeCheck,
  type ShapeIndex,
  alterTable,
  indexes,
  partitionIndexName,
} from './sql/tables';

/** What a change of a member's table needs (the FederatedTable provider's inputs). */
export interface TableChange {
  member: string;
  connection: PgConnection;
  schema: string;
  table: string;
  columns: DeclaredColumn[];
  ownerColumn: string;
  indexes?: ShapeIndex[];
  checks?: ShapeCheck[];
  allowDestructive?: boolean;
  /** The member's publication, whose column lists stop a dropped column from being sent. */
  publication?: string;
  /** The other members: all reachable before a change of shape, all holding it before it returns. */
  peers?: Array<{ member: string; connection: PgConnection }>;
  syncTimeoutSeconds?: number;
}

/** Why these steps cannot run as declared, or undefined. */
export function blocked(steps: ShapeStep[], allowDestructive: boolean): string | undefined {
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

/** The table's actual shape against the declared one: the steps that bring it there. */
export async function stepsToDeclared(
  client: Client,
  t: Pick<TableChange, 'member' | 'schema' | 'table' | 'columns' | 'ownerColumn' | 'indexes' | 'checks'>,
): Promise<ShapeStep[]> {
  const actual = await readShape(client, t.schema, t.table);
  if (actual === undefined) throw new Error(`${t.schema}.${t.table} does not exist`);
  const declared = declaredShape(t);
  const canonical = { ...declared, columns: await canonicalColumns(client, declared.columns) };
  // Checks compare by name (the catalog prints expressions its own way).
  const actualChecks = actual.checks.map((c) => declared.checks.find((d) => d.name === c.name) ?? c);
  return shapeSteps(t.schema, t.table, { ...actual, checks: actualChecks }, canonical);
}

/** Partitions of the table: name, and the member whose rows each holds (null: the DEFAULT one). */
async function partitionsOf(
  client: Client,
  t: TableChange,
): Promise<Array<{ name: string; bound: string | null }>> {
  return (
    await client.query<{ name: string; bound: string | null }>(partitions.ofTable, [
      qualified(t.schema, t.table),
    ])
  ).rows;
}

/**
 * An index on every partition, each built CONCURRENTLY (writes go on), attached to the parent index
 * made ON ONLY the parent: PostgreSQL builds no partitioned index concurrently in one statement.
 */
async function createIndex(client: Client, t: TableChange, index: ShapeIndex): Promise<void> {
  await client.query(indexes.onParent(t.schema, t.table, index));
  for (const part of await partitionsOf(client, t)) {
    const name = partitionIndexName(part.name, index);
    // A build interrupted earlier leaves an invalid index behind: drop that one, keep a valid one.
    if ((await client.query(indexes.invalid, [t.schema, name])).rowCount === 1) {
      await client.query(indexes.dropConcurrently(t.schema, name));
    }
    await client.query(indexes.onPartitionConcurrently(t.schema, part.name, name, index));
    await client.query(indexes.attach(t.schema, index.name, name)).catch((err: unknown) => {
      if (!/is already attached|already has an attached/i.test(String(err))) throw err;
    });
  }
}

/** Bring the table to its declared shape on this member (see the module comment). */
export async function converge(client: Client, t: TableChange): Promise<void> {
  const steps = await stepsToDeclared(client, t);
  if (steps.length === 0) return;
  const why = blocked(steps, t.allowDestructive === true);
  if (why !== undefined) throw new Error(why);
  const where = `${t.schema}.${t.table} on "${t.member}"`;
  const additive = steps.filter((s) => s.kind === 'additive');
  const destructive = steps.filter((s) => s.kind === 'destructive');
  await inTransaction(
    client,
    async () => {
      for (const step of additive) for (const sql of step.sql) await client.query({ text: sql, values: [] });
    },
    { schemaLock: true },
  );
  for (const step of additive) if (step.index !== undefined) await createIndex(client, t, step.index);
  const drops = destructive
    .filter((s) => s.describe.startsWith('drop column'))
    .map((s) => s.column as string);
  if (drops.length > 0) await dropColumns(client, t, drops);
  await inTransaction(
    client,
    async () => {
      for (const step of destructive.filter((s) => !s.describe.startsWith('drop column'))) {
        // One statement each, by the extended protocol: a check's expression is SQL (held to a grammar).
        for (const sql of step.sql)
          await client.query({ text: sql, values: [], queryMode: 'extended' } as import('pg').QueryConfig);
      }
    },
    { schemaLock: true },
  );
  report(`${where}: ${steps.map((s) => s.describe).join('; ')}`);
}

/** Every other member must be reachable before a change of shape: otherwise nothing is changed anywhere. */
export async function peersReachable(t: TableChange): Promise<void> {
  const down: string[] = [];
  for (const peer of t.peers ?? []) {
    try {
      await withClient(peer.member, peer.connection, async () => undefined);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
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
export async function peersHaveColumns(t: TableChange): Promise<void> {
  const wanted = declaredShape(t).columns.map((c) => c.name);
  const deadline = Date.now() + (t.syncTimeoutSeconds ?? 300) * 1000;
  for (const peer of t.peers ?? []) {
    for (;;) {
      const shape = await withClient(peer.member, peer.connection, (c) => readShape(c, t.schema, t.table));
      const missing = wanted.filter((name) => !(shape?.columns ?? []).some((c) => c.name === name));
      if (missing.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `member "${peer.member}" still lacks column(s) ${missing.join(', ')} of ${t.table}; its own update says why`,
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
async function dropColumns(client: Client, t: TableChange, drops: string[]): Promise<void> {
  const version = async (c: Client) => Number((await c.query<{ v: number }>(server.version)).rows[0]?.v);
  const old: string[] = [];
  if ((await version(client)) < 150000) old.push(t.member);
  for (const peer of t.peers ?? []) {
    if ((await withClient(peer.member, peer.connection, version)) < 150000) old.push(peer.member);
  }
  if (old.length > 0) {
    throw new Error(
      `dropping ${drops.join(', ')} is refused: ${old.join(', ')} run PostgreSQL 14, whose publications cannot stop sending a column ` +
        '(column lists need 15), and a subscriber whose table lacks a column it is sent stops. Upgrade them first, or leave the column',
    );
  }
  const publication = t.publication ?? '';
  const own = (await partitionsOf(client, t)).filter((p) => p.bound === listBound(t.member));
  const shape = await readShape(client, t.schema, t.table);
  const kept = (shape?.columns ?? []).map((c) => c.name).filter((c) => !drops.includes(c));
  const setList = async (columns: string) =>
    inTransaction(
      client,
      async () => {
        for (const p of own) {
          if ((await client.query(publications.lists, [publication, t.schema, p.name])).rowCount === 0)
            continue;
          await client.query(publications.dropTable(publication, t.schema, p.name));
          await client.query(publications.addTable(publication, t.schema, p.name, columns));
        }
      },
      { schemaLock: true },
    );
  await setList(columnList(kept));
  // Every other member stops sending them too, and this member has applied all it sent before.
  const deadline = Date.now() + (t.syncTimeoutSeconds ?? 300) * 1000;
  for (const peer of t.peers ?? []) {
    // The position on the peer after which it no longer sends the columns; then this member's
    // subscription to it must have applied up to there. Writes go on meanwhile.
    let target: string | undefined;
    for (;;) {
      const ready = await withClient(peer.member, peer.connection, async (pc) => {
        if (target === undefined) {
          const sending = await pc.query<{ n: string }>(publications.sendingColumns, [
            t.schema,
            qualified(t.schema, t.table),
            drops,
          ]);
          if (Number(sending.rows[0]?.n ?? 0) > 0) return false;
          target = (await pc.query<{ lsn: string }>(slots.currentLsn)).rows[0]?.lsn;
        }
        const applied = await pc.query<{ done: boolean }>(slots.confirmedPast, [
          slotName(t.member, peer.member),
          target,
        ]);
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
  await inTransaction(
    client,
    async () => {
      for (const c of drops) await client.query(alterTable.dropColumn(t.schema, t.table, c, true));
    },
    { schemaLock: true },
  );
  await setList('');
}
