/**
 * What the providers do with replication beyond one object's lifecycle: slots on a publisher, the
 * relations a subscription writes into (checked against what it may feed), waiting for an initial
 * copy, a landing copied afresh from its owner, and a member's own partition restored from its
 * peers' copies. Serialized by value into the providers that call it.
 */
import type { Client } from 'pg';
import { type PgConnection, isUnreachable, inTransaction, report, withClient } from './connection';
import { listBound, qualified } from './sql/identifiers';
import { partitions } from './sql/partitions';
import { publications } from './sql/publications';
import { canRead, grants } from './sql/roles';
import { slots } from './sql/slots';
import { subscriptions } from './sql/subscriptions';

/** A subscriber's copy of a publisher's partition. */
export interface Landing {
  schema: string;
  table: string;
  partition: string;
}

/** A relation a subscription writes into, with its sync state (`r` = ready). */
export interface Relation {
  schema: string;
  partition: string;
  parent: string | null;
  bound: string | null;
  state: string;
}

export interface SlotState {
  exists: boolean;
  active: boolean;
  /** A pgoutput slot of this database: one a subscription here can use. */
  ours: boolean;
  /** Invalidated: the WAL it needs is gone (past `max_slot_wal_keep_size`, or idle too long). */
  lost: boolean;
  /** A failover slot (PostgreSQL 17+). */
  failover: boolean;
}

export async function slotState(client: Client, slot: string): Promise<SlotState> {
  const row = (
    await client.query<{ active: boolean; ours: boolean; lost: boolean | null; failover: boolean }>(
      slots.state,
      [slot],
    )
  ).rows[0];
  return {
    exists: row !== undefined,
    active: row?.active === true,
    ours: row?.ours === true,
    lost: row?.lost === true,
    failover: row?.failover === true,
  };
}

/** Wait, bounded, until no connection holds the slot (a walsender of a subscription just disabled). */
export async function waitUntilIdle(client: Client, slot: string, where: string): Promise<void> {
  for (let attempt = 0; attempt < 80; attempt++) {
    if (!(await slotState(client, slot)).active) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `replication slot ${slot} on ${where} is still in use 20 s after its subscription was disabled`,
  );
}

/**
 * Drop a slot once no connection uses it: a walsender that is shutting down may hold it for a
 * moment, so it is tried again for 10 s, then the error names the slot and how to find its holder.
 */
export async function dropSlot(client: Client, slot: string, where: string): Promise<'dropped' | 'absent'> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const state = await slotState(client, slot);
    if (!state.exists) return 'absent';
    if (!state.active) {
      await client.query(slots.drop, [slot]);
      return 'dropped';
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `replication slot ${slot} on ${where} is still in use by another connection; ` +
      `find it in pg_replication_slots (active_pid) and stop that consumer`,
  );
}

/** Drop a subscription on its subscriber without reaching its publisher (its slot, if any, is left there). */
export async function dropSubscriptionOnly(
  client: Client,
  name: string,
  state: { enabled: boolean; slot: string | null } = { enabled: true, slot: name },
): Promise<void> {
  if (state.enabled) await client.query(subscriptions.disable(name));
  if (state.slot !== null) await client.query(subscriptions.detachSlot(name));
  await client.query(subscriptions.drop(name));
}

export async function relationsOf(client: Client, name: string): Promise<Relation[]> {
  return (await client.query<Relation>(subscriptions.relations, [name])).rows;
}

/**
 * Relations a subscription to `owner` may not write into: anything that is not a partition bounded
 * to `owner` (and, when `landings` is given, not one of them). With `settledToo` false, a relation
 * already in sync (state `r`) is let be: a partition detached and kept when its table left the
 * federation stays listed until the subscription is next refreshed, and its owner no longer
 * publishes it.
 */
export function foreignRelations(
  rels: Relation[],
  owner: string,
  landings?: Landing[],
  settledToo = true,
): Relation[] {
  return rels.filter(
    (r) =>
      (settledToo || r.state !== 'r') &&
      (r.bound !== listBound(owner) ||
        r.parent === null ||
        (landings !== undefined &&
          !landings.some(
            (l) => l.schema === r.schema && l.partition === r.partition && l.table === r.parent,
          ))),
  );
}

export function describeForeign(rels: Relation[], publication: string, publisher: string): string {
  return (
    `publication ${publication} on "${publisher}" publishes ${rels.map((r) => `${r.schema}.${r.partition}`).join(', ')}, ` +
    `which this subscription does not feed (only the publisher's partitions of federated tables may be published); ` +
    `remove them from the publication (ALTER PUBLICATION ${publication} DROP TABLE …) and run again. Nothing was changed here`
  );
}

/**
 * Wait, bounded, until the subscription's tables (or only one) are ready (`pg_subscription_rel`
 * state `r`). Every table it writes must be a partition bounded to `owner`: anything else stops the
 * subscription (disabled, so nothing more is written) with an error naming it.
 */
export async function waitForSync(
  client: Client,
  name: string,
  timeoutSeconds: number,
  opts: { owner: string; publication?: string; only?: { schema: string; partition: string } },
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const rels = await relationsOf(client, name);
    const foreign = foreignRelations(rels, opts.owner, undefined, false);
    if (foreign.length > 0) {
      await client.query(subscriptions.disable(name));
      throw new Error(
        `${describeForeign(foreign, opts.publication ?? 'its publication', opts.owner)}; subscription ${name} was disabled`,
      );
    }
    const only = opts.only;
    const watched =
      only === undefined
        ? rels
        : rels.filter((r) => r.schema === only.schema && r.partition === only.partition);
    if (only !== undefined && watched.length === 0) {
      throw new Error(
        `after REFRESH PUBLICATION, subscription ${name} does not copy ${only.schema}.${only.partition}: ` +
          `the publisher "${opts.owner}" does not publish it (yet); run \`pulumi up\` again once it does`,
      );
    }
    if (watched.every((r) => r.state === 'r')) return;
    if (Date.now() > deadline) {
      const states = watched.map((r) => `${r.schema}.${r.partition}=${r.state}`).join(', ');
      throw new Error(
        `initial sync not ready after ${timeoutSeconds}s (table states: ${states}; r = ready). ` +
          `The subscriber's server log says why (an unreachable publisher, too few replication workers, ` +
          `or rows already in the local copy); fix it and run \`pulumi up\` again, which resumes waiting`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The relations among these that hold rows, with their counts. */
export async function holdingRows<R extends { schema: string; partition: string }>(
  client: Client,
  rels: R[],
): Promise<Array<R & { rows: number }>> {
  const out: Array<R & { rows: number }> = [];
  for (const rel of rels) {
    const rows = Number((await client.query<{ n: string }>(partitions.count(rel))).rows[0]?.n ?? 0);
    if (rows > 0) out.push({ ...rel, rows });
  }
  return out;
}

/** What a landing needs to be copied afresh into a running subscription. */
export interface LandingCopy extends Landing {
  member: string;
  owner: string;
  subscription: string;
  publication: string;
  replicationUser: string;
  syncTimeoutSeconds: number;
}

/**
 * A landing joins its running subscription: the owner must be seen to publish it to a role that can
 * read it, and nothing but partitions of its own (its catalog decides nothing destructive here);
 * a stale copy is then emptied (only the owner writes it, so its rows are the truth, and the copy
 * about to start would fail on every key the stale copy holds); the subscription is refreshed and
 * the copy waited for.
 */
export async function copyLanding(
  client: Client,
  c: LandingCopy,
  owner: PgConnection | undefined,
  stale: boolean,
): Promise<void> {
  const copy = `${c.schema}.${c.partition}`;
  if (owner !== undefined) {
    await withClient(c.owner, owner, async (pub) => {
      const published = await pub.query<{
        schema: string;
        name: string;
        bound: string | null;
        parent: string | null;
      }>(publications.contents, [c.publication]);
      const foreign = published.rows.filter((r) => r.parent === null || r.bound !== listBound(c.owner));
      if (foreign.length > 0) {
        throw new Error(
          `publication ${c.publication} on "${c.owner}" also publishes ${foreign.map((r) => `${r.schema}.${r.name}`).join(', ')}, ` +
            `which is not a partition of "${c.owner}"'s; remove it from the publication and run again. Nothing was changed here`,
        );
      }
      if (!published.rows.some((r) => r.schema === c.schema && r.name === c.partition)) {
        throw new Error(
          `owner "${c.owner}" does not publish ${copy} in ${c.publication} (yet); nothing was changed here. ` +
            `Run \`pulumi up\` again once the owner's partition is deployed`,
        );
      }
      const readable = await pub.query<{ ok: boolean }>(canRead, [
        c.replicationUser,
        qualified(c.schema, c.partition),
      ]);
      if (readable.rows[0]?.ok !== true) {
        throw new Error(
          `role ${c.replicationUser} cannot read ${copy} on "${c.owner}"; nothing was changed here`,
        );
      }
    });
  } else if (stale) {
    throw new Error(
      `${copy} holds rows and no connection to its owner "${c.owner}" was given to check the resync`,
    );
  }
  if (stale) {
    await inTransaction(client, async () => {
      for (const statement of partitions.truncateAsReplica([c])) await client.query(statement);
    });
    report(
      `${copy} on "${c.member}" held rows from before; it was emptied and is being copied afresh from its owner "${c.owner}"`,
    );
  }
  await client.query(subscriptions.refresh(c.subscription));
  await waitForSync(client, c.subscription, c.syncTimeoutSeconds, {
    owner: c.owner,
    only: { schema: c.schema, partition: c.partition },
  });
}

/** A peer holding a copy of a member's own partition. */
export interface Peer {
  member: string;
  connection: PgConnection;
  /** The conninfo this member's server uses to reach the peer as the replication role. */
  conninfo: string;
}

/** A member's own partition made anew, and the peers whose copies may restore it. */
export interface Restore extends Landing {
  member: string;
  owner: string;
  replicationUser: string;
  syncTimeoutSeconds: number;
  peers: Peer[];
}

/** The temporary publication, slot and subscription of one restore: named after what it restores. */
export function restoreName(r: Pick<Restore, 'member' | 'schema' | 'partition'>): string {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `pgfed_restore_${createHash('sha256').update(`${r.member}/${r.schema}.${r.partition}`).digest('hex').slice(0, 16)}`;
}

/**
 * What an interrupted restore can leave (the process killed half-way): its temporary subscription on
 * the member, and on a peer its temporary publication, its slot and the replication role's read of
 * that peer's copy (a landing, which the role may otherwise not read). Dropped wherever found.
 */
export async function cleanRestoreLeftovers(client: Client, r: Restore): Promise<void> {
  const temp = restoreName(r);
  const found = (await client.query<{ enabled: boolean; slot: string | null }>(subscriptions.find, [temp]))
    .rows[0];
  if (found !== undefined) {
    await dropSubscriptionOnly(client, temp, found);
    report(
      `restoring ${r.schema}.${r.partition} on "${r.member}": dropped the temporary subscription an interrupted restore left`,
    );
  }
  for (const peer of r.peers) {
    await withClient(peer.member, peer.connection, async (pc) => {
      const left = (await pc.query(publications.tables, [temp])).rowCount ?? 0;
      const slot = await slotState(pc, temp);
      if (left === 0 && !slot.exists) return;
      await pc.query(publications.dropIfExists(temp));
      await pc.query(grants.revokeSelect(r.schema, r.partition, r.replicationUser));
      await dropSlot(pc, temp, `"${peer.member}"`);
      report(
        `restoring ${r.schema}.${r.partition} on "${r.member}": dropped what an interrupted restore left on "${peer.member}"`,
      );
    }).catch((err: unknown) => {
      if (!isUnreachable(err)) throw err;
    });
  }
}

/**
 * A member's own partition made anew on a server that lost it: when its peers hold copies, the most
 * advanced one (the most rows) is copied in, by a temporary publication of that copy on the peer and
 * a temporary subscription here (PostgreSQL's own initial copy), both dropped afterwards. Says which
 * copy it took and every peer's count. Rows the member wrote that no peer had received went with its
 * disk: their number cannot be known without its WAL, and the report says so.
 */
export async function restoreFromPeers(client: Client, r: Restore): Promise<void> {
  const b = { schema: r.schema, table: r.table, partition: r.partition, owner: r.owner };
  const counts: Array<{ peer: Peer; rows: number }> = [];
  for (const peer of r.peers) {
    try {
      const rows = await withClient(peer.member, peer.connection, async (pc) => {
        const found = (
          await pc.query<{ parent: string | null; bound: string | null }>(partitions.inspect, [
            b.schema,
            b.partition,
          ])
        ).rows[0];
        if (found === undefined || found.parent !== b.table || found.bound !== listBound(b.owner))
          return undefined;
        return Number((await pc.query<{ n: string }>(partitions.count(b))).rows[0]?.n ?? 0);
      });
      if (rows !== undefined) counts.push({ peer, rows });
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      report(
        `restoring ${b.schema}.${b.partition} on "${r.member}": peer "${peer.member}" is unreachable, its copy not considered`,
      );
    }
  }
  counts.sort((x, y) => y.rows - x.rows || (x.peer.member < y.peer.member ? -1 : 1));
  const best = counts[0];
  if (best === undefined || best.rows === 0) return; // a new member: nobody holds its rows yet
  const temp = restoreName(r);
  await withClient(best.peer.member, best.peer.connection, async (pc) => {
    // Leftovers of an interrupted restore go first.
    await pc.query(publications.dropIfExists(temp));
    await dropSlot(pc, temp, `"${best.peer.member}"`);
    const readable =
      (await pc.query<{ ok: boolean }>(canRead, [r.replicationUser, qualified(b.schema, b.partition)]))
        .rows[0]?.ok === true;
    await pc.query(publications.create(temp, b.schema, b.partition));
    if (!readable) await pc.query(grants.select(b.schema, b.partition, r.replicationUser));
    await pc.query(slots.create, [temp]);
    try {
      if ((await client.query(subscriptions.find, [temp])).rowCount === 1)
        await dropSubscriptionOnly(client, temp);
      await client.query(subscriptions.createCopy(temp, best.peer.conninfo, temp, temp));
      try {
        await waitForSync(client, temp, r.syncTimeoutSeconds, { owner: b.owner });
      } finally {
        await dropSubscriptionOnly(client, temp);
      }
    } finally {
      await dropSlot(pc, temp, `"${best.peer.member}"`).catch((err: unknown) =>
        report(
          `restoring ${b.schema}.${b.partition} on "${r.member}": ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
      await pc.query(publications.dropIfExists(temp));
      if (!readable) await pc.query(grants.revokeSelect(b.schema, b.partition, r.replicationUser));
    }
  });
  report(
    `restored ${best.rows} rows of ${b.schema}.${b.partition} on "${r.member}" from the copy on "${best.peer.member}", ` +
      `the most advanced (${counts.map((c) => `${c.peer.member} ${c.rows}`).join(', ')}); rows "${r.member}" wrote ` +
      `that no peer had received are lost with its disk, and how many cannot be known without its WAL`,
  );
}
