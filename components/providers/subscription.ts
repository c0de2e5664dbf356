/**
 * Subscription: one member's subscription to another member's publication.
 *
 * - create makes the slot first over Pulumi's own connection to the publisher (letting CREATE
 *   SUBSCRIPTION make it deadlocks when two members subscribe to each other at once), then, in one
 *   transaction on the subscriber: CREATE SUBSCRIPTION, which connects to the publisher with the
 *   replication conninfo and records every table the publication lists; a check that those are
 *   exactly this subscription's landing partitions (partitions of federated tables bounded to the
 *   publisher) — nothing another server's catalog names is trusted; only then the emptying of a
 *   landing partition that still holds a stale copy. Then it waits, bounded, until the initial copy
 *   is ready, so the rows are there when `pulumi up` returns;
 * - a half-done create converges: an existing subscription is adopted, an orphan slot of ours is
 *   dropped;
 * - a new endpoint or password is `ALTER SUBSCRIPTION ... CONNECTION`, a new publication
 *   `... SET PUBLICATION`: neither replaces the subscription;
 * - delete drops the subscription and its slot. When the publisher cannot be reached, the slot could
 *   not be dropped and would retain WAL there until its disk fills, so the delete fails and the
 *   subscription stays tracked, unless the publisher is listed in `lostMembers` (its server, and the
 *   slot with it, are gone for good).
 *
 * The conninfo carries a password: inputs and same-named outputs are secret, and every message is
 * redacted.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import { isSqlName } from '../naming';
import {
  type PgConnection,
  type ResourceArgs,
  Unreachable,
  configureProvider,
  describeConnection,
  errorMessage,
  explained,
  inTransaction,
  isLost,
  report,
  tlsHint,
  withClient,
} from './connection';
import { changedKeys, invalidKeys } from './inputs';
import {
  type Landing,
  describeForeign,
  dropSlot,
  dropSubscriptionOnly,
  foreignRelations,
  holdingRows,
  relationsOf,
  slotState,
  waitForSync,
} from './replication';
import { FederationResource } from './resource';
import { partitions } from './sql/partitions';
import { publications } from './sql/publications';
import { server } from './sql/server';
import { slots } from './sql/slots';
import { subscriptions } from './sql/subscriptions';

export type { Landing } from './replication';

export interface SubscriptionInputs {
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
}

export type SubscriptionOutputs = SubscriptionInputs;

interface ExistingSubscription {
  conninfo: string;
  publications: string[];
  slot: string | null;
  enabled: boolean;
}

function secretsOf(inputs: SubscriptionInputs): string[] {
  return [inputs.connection.password, inputs.publisherConnection.password, inputs.conninfo];
}

async function findSubscription(client: Client, name: string): Promise<ExistingSubscription | undefined> {
  const res = await client.query<ExistingSubscription>(subscriptions.find, [name]);
  return res.rows[0];
}

/**
 * Drop our slot on the publisher when no subscription uses it (left by a half-done create or an
 * unclean delete). The slot name is derived from (subscriber, publisher), so only this
 * subscription can own it.
 */
async function dropOrphanSlot(client: Client, inputs: SubscriptionInputs, why: string): Promise<void> {
  if ((await dropSlot(client, inputs.slotName, `publisher "${inputs.publisher}"`)) === 'dropped') {
    report(`dropped replication slot ${inputs.slotName} on publisher "${inputs.publisher}" (${why})`);
  }
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
  inputs: SubscriptionInputs,
  publisherVersion: number,
): Promise<void> {
  const subscriberVersion = (await client.query<{ v: number }>(server.version)).rows[0]?.v ?? 0;
  const stale = await inTransaction(client, async () => {
    await client.query(
      subscriptions.create(inputs.name, inputs.conninfo, inputs.publication, inputs.slotName, {
        subscriber: subscriberVersion,
        publisher: publisherVersion,
      }),
    );
    const rels = await relationsOf(client, inputs.name);
    const landings = inputs.landings;
    const foreign = foreignRelations(rels, inputs.publisher, landings);
    if (foreign.length > 0) throw new Error(describeForeign(foreign, inputs.publication, inputs.publisher));
    const missing = (landings ?? []).filter(
      (l) => !rels.some((r) => r.schema === l.schema && r.partition === l.partition),
    );
    if (missing.length > 0) {
      throw new Error(
        `publication ${inputs.publication} on "${inputs.publisher}" does not publish ` +
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
      `subscription ${inputs.name} on "${inputs.subscriber}": the stale local copy of ` +
        `${stale.map((r) => `${r.schema}.${r.partition} (${r.rows} rows)`).join(', ')} was emptied; ` +
        `a full copy from its owner "${inputs.publisher}" is under way and \`pulumi up\` waits for it`,
    );
  }
}

/**
 * The subscriber's server could not reach or verify the publisher: say so with the publisher's name
 * and what to fix, at once (not after a sync timeout).
 */
function publisherUnreachable(err: unknown, inputs: SubscriptionInputs): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/could not connect to the publisher/i.test(message)) return err;
  const hint = tlsHint(message, 'replicationSslrootcert');
  return new Error(
    `the server of "${inputs.subscriber}" cannot connect to publisher "${inputs.publisher}" with the replication conninfo: ` +
      `${message}${hint !== undefined ? `; ${hint} (a path on "${inputs.subscriber}"'s server)` : ''}`,
  );
}

/** Create or converge the subscription, then wait for its initial sync. Used by create and update. */
async function ensure(inputs: SubscriptionInputs): Promise<void> {
  await withClient(inputs.subscriber, inputs.connection, async (client) => {
    let existing = await findSubscription(client, inputs.name);
    if (existing !== undefined && existing.slot !== null) {
      const slot = existing.slot;
      const there = await withClient(inputs.publisher, inputs.publisherConnection, (pub) =>
        slotState(pub, slot),
      ).catch((err: unknown) => {
        if (err instanceof Unreachable) return { exists: true, active: false }; // cannot tell: keep it
        throw err;
      });
      if (!there.exists) {
        // Its publisher lost the slot (a disk gone and rebuilt, or a slot invalidated past its WAL
        // limit): the subscription cannot resume. Made again below, with a full copy.
        await dropSubscriptionOnly(client, inputs.name);
        report(
          `subscription ${inputs.name} on "${inputs.subscriber}": its slot is gone from publisher "${inputs.publisher}", ` +
            `so it is made again and copies "${inputs.publisher}"'s partitions afresh`,
        );
        existing = undefined;
      }
    }
    if (existing === undefined) {
      await withClient(inputs.publisher, inputs.publisherConnection, async (pub) => {
        const published = await pub.query(publications.tables, [inputs.publication]);
        if (published.rowCount === 0) {
          throw new Error(
            `publication ${inputs.publication} does not exist on publisher "${inputs.publisher}"; ` +
              `it is declared by the publisher's member component and must be created first`,
          );
        }
        await dropOrphanSlot(pub, inputs, `no subscription ${inputs.name} on "${inputs.subscriber}" used it`);
        await pub.query(slots.create, [inputs.slotName]);
        const publisherVersion = (await pub.query<{ v: number }>(server.version)).rows[0]?.v ?? 0;
        try {
          await createSubscription(client, inputs, publisherVersion);
        } catch (err) {
          // Left for the next run otherwise, which drops an orphan slot before creating.
          await dropOrphanSlot(pub, inputs, 'its CREATE SUBSCRIPTION did not commit').catch(() => undefined);
          throw publisherUnreachable(err, inputs);
        }
      });
    } else {
      if (existing.slot !== inputs.slotName) {
        throw new Error(
          `subscription ${inputs.name} already exists on "${inputs.subscriber}" with slot ${existing.slot ?? 'NONE'}, ` +
            `not ${inputs.slotName}; drop it by hand (DROP SUBSCRIPTION) and run again`,
        );
      }
      if (existing.conninfo !== inputs.conninfo) {
        await client.query(subscriptions.setConnection(inputs.name, inputs.conninfo));
      }
      if (existing.publications.length !== 1 || existing.publications[0] !== inputs.publication) {
        await client.query(subscriptions.setPublication(inputs.name, inputs.publication));
      }
      if (!existing.enabled) await client.query(subscriptions.enable(inputs.name));
    }
    await waitForSync(client, inputs.name, inputs.syncTimeoutSeconds, {
      owner: inputs.publisher,
      publication: inputs.publication,
    });
  });
}

export const subscriptionProvider = {
  configure: configureProvider,

  async check(_olds, news) {
    const sqlName = 'must be a lowercase SQL name of at most 63 bytes';
    const failures = invalidKeys(news, [
      ['name', isSqlName, `name ${sqlName}`],
      ['publication', isSqlName, `publication ${sqlName}`],
      ['slotName', isSqlName, `slotName ${sqlName}`],
      [
        'syncTimeoutSeconds',
        (v) => Number.isInteger(v) && (v as number) >= 1,
        'syncTimeoutSeconds must be a positive integer',
      ],
      [
        'conninfo',
        (v) => typeof v === 'string' && /\bhost\s*=/.test(v),
        'conninfo must be a libpq conninfo string with a host',
      ],
    ]);
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces: string[] = changedKeys(olds, news, ['subscriber', 'publisher', 'name', 'slotName']);
    // Another database is another subscription; another host or password for the same one is not.
    if (changedKeys(olds.connection, news.connection, ['database']).length > 0) replaces.push('connection');
    // `landings` is used at creation only: a table added later joins through its landing partition.
    const updates = changedKeys(olds, news, [
      'conninfo',
      'publication',
      'syncTimeoutSeconds',
      'connection',
      'publisherConnection',
    ]);
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    await explained(
      `subscription ${inputs.name} on "${inputs.subscriber}" to "${inputs.publisher}"`,
      secretsOf(inputs),
      () => ensure(inputs),
    );
    return { id: `${inputs.subscriber}/${inputs.name}`, outs: inputs };
  },

  async read(id, props) {
    if (props === undefined) return { id, props };
    const where = `subscription ${props.name} on "${props.subscriber}"`;
    const existing = await explained(where, secretsOf(props), () =>
      withClient(props.subscriber, props.connection, (client) => findSubscription(client, props.name)),
    );
    if (existing === undefined) return { id: '', props };
    // Its slot must still be on the publisher: a publisher that lost its disk lost it too, and then
    // the subscription must be made again (which `up` does after this refresh forgets it).
    const slot = await withClient(props.publisher, props.publisherConnection, (pub) =>
      slotState(pub, props.slotName),
    ).catch((err: unknown) => {
      if (err instanceof Unreachable) return undefined; // cannot tell: keep it
      throw new Error(`${where}: ${errorMessage(err, secretsOf(props))}`);
    });
    return slot !== undefined && !slot.exists ? { id: '', props } : { id, props };
  },

  async update(_id, olds, news) {
    await explained(
      `subscription ${news.name} on "${news.subscriber}" to "${news.publisher}"`,
      [...secretsOf(olds), ...secretsOf(news)],
      () => ensure(news),
    );
    return { outs: news };
  },

  async delete(_id, props) {
    const where = `subscription ${props.name} on "${props.subscriber}"`;
    const publisherLost = isLost(props.publisher);
    // Whether our slot may be left on the publisher with nothing to drop it: then it is checked there.
    let slotMayBeLeft = false;
    try {
      await explained(where, secretsOf(props), () =>
        withClient(props.subscriber, props.connection, async (client) => {
          const existing = await findSubscription(client, props.name);
          if (existing === undefined) {
            slotMayBeLeft = true; // a half-done create or an earlier unclean delete
            return;
          }
          if (existing.slot === null || publisherLost) {
            // No slot to drop, or it went with a lost publisher: drop the subscription here only.
            await dropSubscriptionOnly(client, props.name, existing);
            if (publisherLost) {
              report(
                `${where}: dropped without its slot ${props.slotName}: publisher "${props.publisher}" is listed in lostMembers`,
              );
            }
            return;
          }
          try {
            // Connects to the publisher and drops the slot there too, or fails and changes nothing.
            await client.query(subscriptions.drop(props.name));
          } catch (err) {
            throw new Error(
              `its replication slot ${props.slotName} lives on publisher "${props.publisher}" ` +
                `(${describeConnection(props.publisherConnection)}), which could not drop it: ${String(
                  err instanceof Error ? err.message : err,
                )}. Dropping the subscription anyway would leave that slot behind, retaining WAL on "${props.publisher}" ` +
                `until its disk fills, so nothing was changed and the subscription stays tracked. Bring "${props.publisher}" ` +
                `back and run again; if its server is gone for good, add it to pg-federation:lostMembers and run again`,
            );
          }
        }),
      );
    } catch (err) {
      if (!(err instanceof Unreachable && isLost(props.subscriber))) throw err;
      slotMayBeLeft = true;
      report(
        `${where}: member "${props.subscriber}" is listed in lostMembers and unreachable; forgotten without reaching it`,
      );
    }
    if (!slotMayBeLeft || publisherLost) return;
    await explained(where, secretsOf(props), () =>
      withClient(props.publisher, props.publisherConnection, (pub) =>
        dropOrphanSlot(pub, props, `its subscription ${props.name} on "${props.subscriber}" is gone`),
      ),
    );
  },
} satisfies pulumi.dynamic.ResourceProvider<SubscriptionInputs, SubscriptionOutputs>;

export type SubscriptionArgs = ResourceArgs<SubscriptionInputs>;

/** A member's subscription to another member's publication. */
export class Subscription extends FederationResource {
  constructor(name: string, args: SubscriptionArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      subscriptionProvider,
      'Subscription',
      name,
      args,
      ['connection', 'publisherConnection', 'conninfo'],
      opts,
    );
  }
}
