/**
 * Subscription: one member's subscription to another member's publication.
 *
 * - create/update converge on what is there (a subscription left by a half-done run is adopted, an
 *   orphan slot of ours is cleared) and wait, bounded, until the initial copy is ready
 *   (`pg_subscription_rel` state `r`), so the rows are there when `pulumi up` returns;
 * - a new endpoint or password is `ALTER SUBSCRIPTION ... CONNECTION`, a new publication
 *   `... SET PUBLICATION`: neither replaces the subscription;
 * - delete drops the subscription and its slot; when the publisher is unreachable it still succeeds
 *   on the subscriber (disable, `slot_name = NONE`, drop) and says which slot was left where.
 *
 * The conninfo carries a password: inputs and same-named outputs are secret, and every message is
 * redacted.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import {
  type PgConnection,
  type ResourceArgs,
  describeConnection,
  errorMessage,
  report,
  withClient,
} from './connection';
import { isSqlName } from '../naming';
import { FederationResource } from './resource';

export interface SubscriptionInputs {
  subscriber: string;
  publisher: string;
  /** Pulumi's admin connection to the subscriber. */
  connection: PgConnection;
  /** Pulumi's admin connection to the publisher: checks the publication, cleans up the slot. */
  publisherConnection: PgConnection;
  /** libpq conninfo the subscriber's server uses to reach the publisher. */
  conninfo: string;
  name: string;
  publication: string;
  slotName: string;
  syncTimeoutSeconds: number;
}

export type SubscriptionOutputs = SubscriptionInputs;

interface ExistingSubscription {
  conninfo: string;
  publications: string[];
  slotName: string | null;
  enabled: boolean;
}

function secretsOf(inputs: SubscriptionInputs): string[] {
  return [inputs.connection.password, inputs.publisherConnection.password, inputs.conninfo];
}

async function findSubscription(client: Client, name: string): Promise<ExistingSubscription | undefined> {
  const res = await client.query<{
    subconninfo: string;
    subpublications: string[];
    subslotname: string | null;
    subenabled: boolean;
  }>(
    `SELECT subconninfo, subpublications, subslotname, subenabled FROM pg_subscription
      WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  const row = res.rows[0];
  return row === undefined
    ? undefined
    : {
        conninfo: row.subconninfo,
        publications: row.subpublications,
        slotName: row.subslotname,
        enabled: row.subenabled,
      };
}

/**
 * On the publisher: the publication must exist (PostgreSQL 14 does not check at CREATE SUBSCRIPTION).
 * Returns the tables it publishes as qualified names, quoted where needed (`format('%I.%I')`).
 */
async function publishedTables(client: Client, inputs: SubscriptionInputs): Promise<string[]> {
  const res = await client.query<{ qualified: string | null }>(
    `SELECT format('%I.%I', t.schemaname, t.tablename) AS qualified
       FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname
      WHERE p.pubname = $1`,
    [inputs.publication],
  );
  if (res.rowCount === 0) {
    throw new Error(
      `publication ${inputs.publication} does not exist on publisher "${inputs.publisher}"; ` +
        `it is declared by the publisher's member component and must be created first`,
    );
  }
  return res.rows.flatMap((row) => (row.qualified === null ? [] : [row.qualified]));
}

interface SlotState {
  exists: boolean;
  active: boolean;
}

async function slotState(client: Client, slot: string): Promise<SlotState> {
  const res = await client.query<{ active: boolean }>(
    'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const row = res.rows[0];
  return { exists: row !== undefined, active: row?.active === true };
}

/**
 * Drop our slot on the publisher when no subscription uses it (left by a half-done create or an
 * unclean delete). The slot name is derived from (subscriber, publisher), so only this
 * subscription can own it. A walsender that is shutting down may hold it for a moment: retried.
 */
async function dropOrphanSlot(client: Client, inputs: SubscriptionInputs, why: string): Promise<boolean> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const state = await slotState(client, inputs.slotName);
    if (!state.exists) return false;
    if (!state.active) {
      await client.query('SELECT pg_drop_replication_slot($1)', [inputs.slotName]);
      report(`dropped replication slot ${inputs.slotName} on publisher "${inputs.publisher}" (${why})`);
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `replication slot ${inputs.slotName} on publisher "${inputs.publisher}" is still in use by another connection; ` +
      `find it in pg_replication_slots (active_pid) and stop that consumer`,
  );
}

async function waitForSync(client: Client, inputs: SubscriptionInputs): Promise<void> {
  const deadline = Date.now() + inputs.syncTimeoutSeconds * 1000;
  for (;;) {
    const res = await client.query<{ rel: string; state: string }>(
      `SELECT sr.srrelid::regclass::text AS rel, sr.srsubstate::text AS state
         FROM pg_subscription s JOIN pg_subscription_rel sr ON sr.srsubid = s.oid
        WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [inputs.name],
    );
    if (res.rows.every((row) => row.state === 'r')) return;
    if (Date.now() > deadline) {
      const states = res.rows.map((row) => `${row.rel}=${row.state}`).join(', ');
      throw new Error(
        `initial sync not ready after ${inputs.syncTimeoutSeconds}s (table states: ${states}; r = ready). ` +
          `The subscriber's server log says why (an unreachable publisher, too few replication workers, ` +
          `or rows already in the local copy of the partition); fix it and run \`pulumi up\` again, which resumes waiting`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * CREATE SUBSCRIPTION with a full initial copy. The subscriber's copy of the publisher's partition
 * may already hold rows (the subscription was replaced, or the member left and came back): only the
 * publisher writes that partition, so its rows are the truth, and the stale copy is emptied in the
 * same transaction (which commits only if the subscription is created). Without this the copy
 * would fail on duplicate keys forever. `session_replication_role = replica` lets the federation's
 * own maintenance past the ownership guards, as replicated changes are.
 */
async function createSubscription(
  client: Client,
  inputs: SubscriptionInputs,
  tables: string[],
): Promise<void> {
  const pg: typeof import('pg') = require('pg');
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    const replaced: string[] = [];
    for (const table of tables) {
      const res = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      const rows = Number(res.rows[0]?.n ?? 0);
      if (rows > 0) {
        await client.query(`TRUNCATE ${table}`);
        replaced.push(`${table} (${rows} rows)`);
      }
    }
    await client.query(
      `CREATE SUBSCRIPTION ${pg.escapeIdentifier(inputs.name)} CONNECTION ${pg.escapeLiteral(inputs.conninfo)} ` +
        `PUBLICATION ${pg.escapeIdentifier(inputs.publication)} ` +
        `WITH (create_slot = false, slot_name = ${pg.escapeLiteral(inputs.slotName)}, copy_data = true)`,
    );
    await client.query('COMMIT');
    if (replaced.length > 0) {
      report(
        `subscription ${inputs.name} on "${inputs.subscriber}": the local copy of ${replaced.join(', ')} ` +
          `was replaced by a full copy from its owner "${inputs.publisher}"`,
      );
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Create or converge the subscription, then wait for its initial sync. Used by create and update. */
async function ensure(inputs: SubscriptionInputs): Promise<void> {
  const pg: typeof import('pg') = require('pg');
  const ident = pg.escapeIdentifier(inputs.name);
  await withClient(inputs.subscriber, inputs.connection, async (client) => {
    const existing = await findSubscription(client, inputs.name);
    // One session on the publisher checks the publication and, for a new subscription, makes the
    // slot first: letting CREATE SUBSCRIPTION create it deadlocks across servers when two members
    // subscribe to each other at once (as the engine does), each command holding a transaction id
    // on its server while the other's slot creation waits for that server's transactions to end.
    await withClient(inputs.publisher, inputs.publisherConnection, async (pub) => {
      const tables = await publishedTables(pub, inputs);
      if (existing !== undefined) return;
      await dropOrphanSlot(pub, inputs, `no subscription ${inputs.name} on "${inputs.subscriber}" used it`);
      await pub.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [inputs.slotName]);
      try {
        await createSubscription(client, inputs, tables);
      } catch (err) {
        // Left for the next run otherwise, which drops an orphan slot before creating.
        await dropOrphanSlot(pub, inputs, 'CREATE SUBSCRIPTION failed').catch(() => undefined);
        throw err;
      }
    });
    if (existing !== undefined) {
      if (existing.slotName !== inputs.slotName) {
        throw new Error(
          `subscription ${inputs.name} already exists on "${inputs.subscriber}" with slot ${existing.slotName ?? 'NONE'}, ` +
            `not ${inputs.slotName}; drop it by hand (DROP SUBSCRIPTION) and run again`,
        );
      }
      if (existing.conninfo !== inputs.conninfo) {
        await client.query(`ALTER SUBSCRIPTION ${ident} CONNECTION ${pg.escapeLiteral(inputs.conninfo)}`);
      }
      if (existing.publications.length !== 1 || existing.publications[0] !== inputs.publication) {
        await client.query(
          `ALTER SUBSCRIPTION ${ident} SET PUBLICATION ${pg.escapeIdentifier(inputs.publication)}`,
        );
      }
      if (!existing.enabled) await client.query(`ALTER SUBSCRIPTION ${ident} ENABLE`);
    }
    await waitForSync(client, inputs);
  });
}

export const subscriptionProvider = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const key of ['name', 'publication', 'slotName'] as const) {
      if (!isSqlName(news[key])) {
        failures.push({ property: key, reason: `${key} must be a lowercase SQL name of at most 63 bytes` });
      }
    }
    if (!Number.isInteger(news.syncTimeoutSeconds) || news.syncTimeoutSeconds < 1) {
      failures.push({
        property: 'syncTimeoutSeconds',
        reason: 'syncTimeoutSeconds must be a positive integer',
      });
    }
    if (typeof news.conninfo !== 'string' || !/\bhost\s*=/.test(news.conninfo)) {
      failures.push({ property: 'conninfo', reason: 'conninfo must be a libpq conninfo string with a host' });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces: string[] = (['subscriber', 'publisher', 'name', 'slotName'] as const).filter(
      (key) => olds[key] !== news[key],
    );
    // Another database is another subscription; another host or password for the same one is not.
    if (olds.connection.database !== news.connection.database) replaces.push('connection');
    const updates = (['conninfo', 'publication', 'syncTimeoutSeconds'] as const).filter(
      (key) => olds[key] !== news[key],
    );
    const moved =
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection) ||
      JSON.stringify(olds.publisherConnection) !== JSON.stringify(news.publisherConnection);
    return { changes: replaces.length + updates.length > 0 || moved, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    try {
      await ensure(inputs);
    } catch (err) {
      throw new Error(
        `subscription ${inputs.name} on "${inputs.subscriber}" to "${inputs.publisher}": ${errorMessage(err, secretsOf(inputs))}`,
      );
    }
    return { id: `${inputs.subscriber}/${inputs.name}`, outs: inputs };
  },

  async read(id, props) {
    if (props === undefined) return { id, props };
    const existing = await withClient(props.subscriber, props.connection, (client) =>
      findSubscription(client, props.name),
    ).catch((err: unknown) => {
      throw new Error(errorMessage(err, secretsOf(props)));
    });
    return existing === undefined ? { id: '', props } : { id, props };
  },

  async update(_id, olds, news) {
    try {
      await ensure(news);
    } catch (err) {
      throw new Error(
        `subscription ${news.name} on "${news.subscriber}" to "${news.publisher}": ${errorMessage(err, [
          ...secretsOf(olds),
          ...secretsOf(news),
        ])}`,
      );
    }
    return { outs: news };
  },

  async delete(_id, props) {
    const pg: typeof import('pg') = require('pg');
    const ident = pg.escapeIdentifier(props.name);
    const where = `subscription ${props.name} on "${props.subscriber}"`;
    let slotLeft = false;
    try {
      await withClient(props.subscriber, props.connection, async (client) => {
        const existing = await findSubscription(client, props.name);
        if (existing === undefined) {
          slotLeft = true; // maybe: a half-done create or an earlier unclean delete. Checked below.
          return;
        }
        try {
          await client.query(`DROP SUBSCRIPTION ${ident}`);
        } catch (err) {
          // The subscriber could not reach the publisher to drop the slot. Detach the slot and drop
          // the subscription here; the slot is cleaned up below or reported.
          report(
            `${where}: could not drop slot through the publisher (${errorMessage(err, secretsOf(props))})`,
          );
          if (existing.enabled) await client.query(`ALTER SUBSCRIPTION ${ident} DISABLE`);
          await client.query(`ALTER SUBSCRIPTION ${ident} SET (slot_name = NONE)`);
          await client.query(`DROP SUBSCRIPTION ${ident}`);
          slotLeft = true;
        }
      });
    } catch (err) {
      throw new Error(`${where}: ${errorMessage(err, secretsOf(props))}`);
    }
    if (!slotLeft) return;
    try {
      await withClient(props.publisher, props.publisherConnection, (pub) =>
        dropOrphanSlot(pub, props, `its subscription ${props.name} on "${props.subscriber}" is gone`),
      );
    } catch (err) {
      report(
        `${where} was dropped, but replication slot ${props.slotName} may be left on publisher "${props.publisher}" ` +
          `(${describeConnection(props.publisherConnection)}): ${errorMessage(err, secretsOf(props))}. ` +
          `It retains WAL until dropped: when the publisher is back, run ` +
          `SELECT pg_drop_replication_slot('${props.slotName}') there`,
      );
    }
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
