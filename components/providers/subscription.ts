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
import { isSqlName } from '../naming';
import {
  type ResourceArgs,
  isUnreachable,
  configureProvider,
  describeConnection,
  errorMessage,
  explained,
  isLost,
  report,
  withClient,
} from './connection';
import { changedKeys, invalidKeys } from './inputs';
import { dropSubscriptionOnly } from './replication';
import { FederationResource } from './resource';
import { subscriptions } from './sql/subscriptions';
import {
  type SubscriptionSpec,
  dropOrphanSlot,
  ensure,
  findSubscription,
  slotOnPublisher,
} from './subscriptionSteps';

export type { Landing } from './replication';

/** What a subscription is: its definition lives with the steps that make it (subscriptionSteps.ts). */
export type SubscriptionInputs = SubscriptionSpec;

export interface SubscriptionOutputs extends SubscriptionInputs {
  /**
   * Set by `read` when the slot is gone from its publisher (a failover without slot sync, a disk lost,
   * a restore from backup) or lost there (past its WAL budget): the next `up` replaces this pair.
   */
  slotState?: 'missing' | 'lost';
}

function secretsOf(inputs: SubscriptionInputs): string[] {
  return [inputs.connection.password, inputs.publisherConnection.password, inputs.conninfo];
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

  async diff(_id, olds: SubscriptionOutputs, news) {
    const replaces: string[] = changedKeys(olds, news, ['subscriber', 'publisher', 'name', 'slotName']);
    // Another database is another subscription; another host or password for the same one is not.
    if (changedKeys(olds.connection, news.connection, ['database']).length > 0) replaces.push('connection');
    // A refresh found its slot gone or lost on the publisher: a new slot and a full copy.
    if (olds.slotState !== undefined && !replaces.includes('slotName')) replaces.push('slotName');
    // `landings` is used at creation only: a table added later joins through its landing partition.
    const updates = changedKeys(
      olds,
      news,
      [
        'conninfo',
        'publication',
        'syncTimeoutSeconds',
        'connection',
        'publisherConnection',
        'failover',
        'synchronousCommit',
      ],
      // What a state written before these keys did: no failover slot, PostgreSQL's synchronous_commit.
      { failover: (v) => v === false, synchronousCommit: (v) => v === 'off' },
    );
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

  async read(id, props?: SubscriptionOutputs) {
    if (props === undefined) return { id, props };
    const where = `subscription ${props.name} on "${props.subscriber}"`;
    const existing = await explained(where, secretsOf(props), () =>
      withClient(props.subscriber, props.connection, (client) => findSubscription(client, props.name)),
    );
    if (existing === undefined) return { id: '', props };
    // Its slot must still be usable on the publisher: a failover without slot sync, a disk lost or a
    // restore from backup left none; a subscriber away past the WAL budget left it lost. Then this
    // pair is made again (the next `up` replaces it), and only this pair.
    const slot = await slotOnPublisher(props).catch((err: unknown) => {
      throw new Error(`${where}: ${errorMessage(err, secretsOf(props))}`);
    });
    const rest: SubscriptionOutputs = { ...props };
    delete rest.slotState;
    // What the subscription does now: a change made by hand shows as drift and `up` converges it.
    const actual = {
      ...rest,
      ...(props.synchronousCommit !== undefined || existing.synchronous_commit !== 'off'
        ? { synchronousCommit: existing.synchronous_commit }
        : {}),
      ...(props.failover !== undefined || existing.failover ? { failover: existing.failover } : {}),
    };
    if (slot !== undefined && (!slot.exists || slot.lost)) {
      return { id, props: { ...actual, slotState: slot.exists ? ('lost' as const) : ('missing' as const) } };
    }
    return { id, props: actual };
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
          const there = await slotOnPublisher(props);
          if (there !== undefined && !there.exists) {
            // The publisher answers and has no such slot (a failover without slot sync, a rebuilt
            // server): nothing can be left behind there.
            await dropSubscriptionOnly(client, props.name, existing);
            report(
              `${where}: dropped; its slot ${props.slotName} was already gone from publisher "${props.publisher}"`,
            );
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
      if (!(isUnreachable(err) && isLost(props.subscriber))) throw err;
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
      'subscription',
      'Subscription',
      name,
      args,
      ['connection', 'publisherConnection', 'conninfo'],
      opts,
    );
  }
}
