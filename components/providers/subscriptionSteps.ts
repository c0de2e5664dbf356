/**
 * What a subscription's create and update do, in steps (the Subscription provider decides which):
 *
 * - the slot is made first over Pulumi's own connection to the publisher (letting CREATE
 *   SUBSCRIPTION make it deadlocks when two members subscribe to each other at once), a failover
 *   slot where both ends run PostgreSQL 17+ and the plan allows it; a slot of that name left unused
 *   and healthy (a half-done create, or Patroni's permanent slot on a PGO member) is adopted,
 *   anything else of that name dropped;
 * - then, in one transaction on the subscriber: CREATE SUBSCRIPTION, which connects to the publisher
 *   with the replication conninfo and records every table the publication lists; a check that those
 *   are exactly this subscription's landing partitions (partitions of federated tables bounded to
 *   the publisher): nothing another server's catalog names is trusted; only then the emptying of a
 *   landing partition that still holds a stale copy. Then a bounded wait for the initial copy;
 * - an existing subscription is converged in place: its connection, publication, failover
 *   (disabled while the publisher's slot is altered: no re-copy), synchronous_commit, enabled; one
 *   whose slot is gone or lost from its publisher is made again with a full copy.
 *
 * Serialized by value into the Subscription provider.
 */
import type { Client } from 'pg';
import { type PgConnection, isUnreachable, inTransaction, report, tlsHint, withClient } from './connection';
import {
  type Landing,
  type SlotState,
  describeForeign,
  dropSlot,
  dropSubscriptionOnly,
  foreignRelations,
  holdingRows,
  relationsOf,
  slotState,
  waitForSync,
  waitUntilIdle,
} from './replication';
import { partitions } from './sql/partitions';
import { publications } from './sql/publications';
import { server } from './sql/server';
import { slots } from './sql/slots';
import { type ServerVersions, both17, subscriptions } from './sql/subscriptions';

/** What a subscription is (the Subscription provider's inputs). */
export interface SubscriptionSpec {
  subscriber: string;
  publisher: string;
  /** Pulumi's admin connection to the subscriber. */
  connection: PgConnection;
  /** Pulumi's admin connection to the publisher: checks the publication, makes and drops the slot. */
  publisherConnection: PgConnection;
  /** libpq conninfo the subscriber's server uses to reach the publisher. */
  conninfo: string;
  name: string;
  publication: string;
  slotName: string;
  syncTimeoutSeconds: number;
  /**
   * The subscriber's copies of the publisher's partitions: everything this subscription may write
   * into, and all it may ever empty. Used at creation (tables added later join through their
   * landing partitions).
   */
  landings?: Landing[];
  /**
   * A failover slot, where both ends run PostgreSQL 17+ (the plan says when it may be one): the
   * publisher's standbys that synchronise slots keep it through a failover. Absent in older states: false.
   */
  failover?: boolean;
  /** The apply worker's `synchronous_commit`. Absent in older states: `off`, PostgreSQL's default. */
  synchronousCommit?: string;
}

export interface ExistingSubscription {
  conninfo: string;
  publications: string[];
  slot: string | null;
  enabled: boolean;
  synchronous_commit: string;
  failover: boolean;
}

export async function findSubscription(
  client: Client,
  name: string,
): Promise<ExistingSubscription | undefined> {
  return (await client.query<ExistingSubscription>(subscriptions.find, [name])).rows[0];
}

/** The subscription's slot on its publisher; undefined when the publisher cannot be reached. */
export async function slotOnPublisher(s: SubscriptionSpec): Promise<SlotState | undefined> {
  return withClient(s.publisher, s.publisherConnection, (pub) => slotState(pub, s.slotName)).catch(
    (err: unknown) => {
      if (isUnreachable(err)) return undefined;
      throw err;
    },
  );
}

/**
 * Drop our slot on the publisher when no subscription uses it (left by a half-done create or an
 * unclean delete). The slot name is derived from (subscriber, publisher), so only this
 * subscription can own it.
 */
export async function dropOrphanSlot(client: Client, s: SubscriptionSpec, why: string): Promise<void> {
  if ((await dropSlot(client, s.slotName, `publisher "${s.publisher}"`)) === 'dropped') {
    report(`dropped replication slot ${s.slotName} on publisher "${s.publisher}" (${why})`);
  }
}

/** The server's `server_version_num`. */
async function versionOf(client: Client): Promise<number> {
  return (await client.query<{ v: number }>(server.version)).rows[0]?.v ?? 0;
}

/**
 * The slot the new subscription starts from: an unused healthy pgoutput slot of this name is kept
 * (a create cut short after it; Patroni's permanent slot), unless its failover flag is not what is
 * wanted; anything else of that name is dropped, and a new slot made.
 */
async function prepareSlot(pub: Client, s: SubscriptionSpec, failover: boolean): Promise<void> {
  const state = await slotState(pub, s.slotName);
  const usable = state.exists && !state.active && state.ours && !state.lost && state.failover === failover;
  if (usable) {
    report(
      `subscription ${s.name}: adopted the unused replication slot ${s.slotName} on publisher "${s.publisher}"`,
    );
    return;
  }
  await dropOrphanSlot(pub, s, `no subscription ${s.name} on "${s.subscriber}" used it`);
  if (failover) await pub.query(slots.createFailover, [s.slotName, true]);
  else await pub.query(slots.create, [s.slotName]);
}

/**
 * CREATE SUBSCRIPTION with a full initial copy, checked before it commits (see the module comment).
 * A landing partition that still holds rows (the subscription was replaced, or the member left and
 * came back) holds a stale copy: only the publisher writes it, so its rows are the truth. It is
 * emptied in the same transaction, which commits only with the subscription, so the copy that
 * follows starts from nothing.
 */
async function createSubscription(
  client: Client,
  s: SubscriptionSpec,
  versions: ServerVersions,
): Promise<void> {
  const stale = await inTransaction(client, async () => {
    await client.query(
      subscriptions.create(s.name, s.conninfo, s.publication, s.slotName, versions, {
        failover: s.failover === true,
        ...(s.synchronousCommit !== undefined ? { synchronousCommit: s.synchronousCommit } : {}),
      }),
    );
    const rels = await relationsOf(client, s.name);
    const foreign = foreignRelations(rels, s.publisher, s.landings);
    if (foreign.length > 0) throw new Error(describeForeign(foreign, s.publication, s.publisher));
    const missing = (s.landings ?? []).filter(
      (l) => !rels.some((r) => r.schema === l.schema && r.partition === l.partition),
    );
    if (missing.length > 0) {
      throw new Error(
        `publication ${s.publication} on "${s.publisher}" does not publish ` +
          `${missing.map((l) => `${l.schema}.${l.partition}`).join(', ')}; nothing was changed here`,
      );
    }
    const holding = await holdingRows(client, rels);
    if (holding.length > 0) {
      for (const statement of partitions.truncateAsReplica(holding)) await client.query(statement);
    }
    return holding;
  });
  if (stale.length > 0) {
    report(
      `subscription ${s.name} on "${s.subscriber}": the stale local copy of ` +
        `${stale.map((r) => `${r.schema}.${r.partition} (${r.rows} rows)`).join(', ')} was emptied; ` +
        `a full copy from its owner "${s.publisher}" is under way and \`pulumi up\` waits for it`,
    );
  }
}

/**
 * The subscriber's server could not reach or verify the publisher: say so with the publisher's name
 * and what to fix, at once (not after a sync timeout).
 */
function publisherUnreachable(err: unknown, s: SubscriptionSpec): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/could not connect to the publisher/i.test(message)) return err;
  const hint = tlsHint(message, 'replicationSslrootcert');
  return new Error(
    `the server of "${s.subscriber}" cannot connect to publisher "${s.publisher}" with the replication conninfo: ` +
      `${message}${hint !== undefined ? `; ${hint} (a path on "${s.subscriber}"'s server)` : ''}`,
  );
}

/** Make the subscription: its slot, then CREATE SUBSCRIPTION (a failed one leaves no slot behind). */
async function create(client: Client, s: SubscriptionSpec): Promise<void> {
  await withClient(s.publisher, s.publisherConnection, async (pub) => {
    const published = await pub.query(publications.tables, [s.publication]);
    if (published.rowCount === 0) {
      throw new Error(
        `publication ${s.publication} does not exist on publisher "${s.publisher}"; ` +
          `it is declared by the publisher's member component and must be created first`,
      );
    }
    const versions = { subscriber: await versionOf(client), publisher: await versionOf(pub) };
    await prepareSlot(pub, s, s.failover === true && both17(versions));
    try {
      await createSubscription(client, s, versions);
    } catch (err) {
      // Left for the next run otherwise, which drops an orphan slot before creating.
      await dropOrphanSlot(pub, s, 'its CREATE SUBSCRIPTION did not commit').catch(() => undefined);
      throw publisherUnreachable(err, s);
    }
  });
}

/**
 * Its failover flag as wanted: disabled while the publisher's slot is altered (PostgreSQL 17 alters
 * it over the replication connection), then enabled: the subscription goes on where it was.
 */
async function setFailover(client: Client, s: SubscriptionSpec, failover: boolean): Promise<void> {
  await client.query(subscriptions.disable(s.name));
  try {
    await withClient(s.publisher, s.publisherConnection, (pub) =>
      waitUntilIdle(pub, s.slotName, `publisher "${s.publisher}"`),
    );
    await client.query(subscriptions.setFailover(s.name, failover));
  } finally {
    await client.query(subscriptions.enable(s.name));
  }
  report(
    `subscription ${s.name} on "${s.subscriber}": its slot on "${s.publisher}" is ${failover ? 'now' : 'no longer'} a failover slot`,
  );
}

/** Converge an existing subscription in place (see the module comment). */
async function converge(client: Client, s: SubscriptionSpec, existing: ExistingSubscription): Promise<void> {
  if (existing.slot !== s.slotName) {
    throw new Error(
      `subscription ${s.name} already exists on "${s.subscriber}" with slot ${existing.slot ?? 'NONE'}, ` +
        `not ${s.slotName}; drop it by hand (DROP SUBSCRIPTION) and run again`,
    );
  }
  if (existing.conninfo !== s.conninfo) await client.query(subscriptions.setConnection(s.name, s.conninfo));
  if (existing.publications.length !== 1 || existing.publications[0] !== s.publication) {
    await client.query(subscriptions.setPublication(s.name, s.publication));
  }
  const wanted = s.synchronousCommit ?? 'off';
  if (existing.synchronous_commit !== wanted) {
    await client.query(subscriptions.setSynchronousCommit(s.name, wanted));
  }
  if (!existing.enabled) await client.query(subscriptions.enable(s.name));
  const versions = {
    subscriber: await versionOf(client),
    publisher: await withClient(s.publisher, s.publisherConnection, versionOf),
  };
  const failover = s.failover === true && both17(versions);
  if (both17(versions) && existing.failover !== failover) await setFailover(client, s, failover);
}

/** Create or converge the subscription, then wait for its initial sync. Used by create and update. */
export async function ensure(s: SubscriptionSpec): Promise<void> {
  await withClient(s.subscriber, s.connection, async (client) => {
    let existing = await findSubscription(client, s.name);
    if (existing !== undefined && existing.slot !== null) {
      const there = await slotOnPublisher(s); // undefined: cannot tell, keep it
      if (there !== undefined && (!there.exists || there.lost)) {
        // Its publisher lost the slot (a failover without slot sync, a disk gone and rebuilt, a
        // restore from backup) or its WAL (past the WAL budget): the subscription cannot resume.
        // Made again below, with a full copy.
        await dropSubscriptionOnly(client, s.name, existing);
        report(
          `subscription ${s.name} on "${s.subscriber}": its slot is ${there.exists ? 'lost (its WAL is gone)' : 'gone'} ` +
            `on publisher "${s.publisher}", so it is made again and copies "${s.publisher}"'s partitions afresh`,
        );
        existing = undefined;
      }
    }
    if (existing === undefined) await create(client, s);
    else await converge(client, s, existing);
    await waitForSync(client, s.name, s.syncTimeoutSeconds, {
      owner: s.publisher,
      publication: s.publication,
    });
  });
}
