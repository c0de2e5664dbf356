/**
 * SlotLimits: what an external member's server may keep for its subscribers' slots — the WAL budget
 * (`max_slot_wal_keep_size`: past it a slot is invalidated instead of filling the disk) and, on
 * PostgreSQL 18+, `idle_replication_slot_timeout` — set with ALTER SYSTEM and a reload (no restart).
 *
 * - create records what the server had (a value set with ALTER SYSTEM before, or none) so that
 *   delete gives it back: nothing of the server's own configuration is lost. It writes that record
 *   to the server too (`pg_federation.slot_limits_before`, a custom setting in postgresql.auto.conf)
 *   before it changes anything, so a create killed after its ALTER SYSTEM, whose state was never
 *   written, is followed by one that still finds the server's own values, not ours;
 * - a server whose admin role may not ALTER SYSTEM (a managed service, `allow_alter_system = off`)
 *   keeps its settings: the resource records that it could not, says so once, and `npm run status`
 *   shows the slots there as unbounded;
 * - read compares the server's setting with the declared one (a failover to a standby without it,
 *   a change by hand): the difference shows in the next preview and `up` sets it again.
 * PGO members carry the same settings in their PostgresCluster (Patroni applies them).
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import {
  type PgConnection,
  type ResourceArgs,
  isUnreachable,
  configureProvider,
  errorMessage,
  explained,
  isLost,
  report,
  withClient,
} from './connection';
import { changedKeys } from './inputs';
import { FederationResource } from './resource';
import { type SettingValue, server, settingsSql } from './sql/server';

export interface SlotLimitsInputs {
  member: string;
  connection: PgConnection;
  /** `max_slot_wal_keep_size` in MB; -1: no limit. */
  maxSlotWalKeepSizeMB: number;
  /** PostgreSQL 18+: `idle_replication_slot_timeout` ('0': off). */
  idleReplicationSlotTimeout: string;
}

export interface SlotLimitsOutputs extends SlotLimitsInputs {
  /** What ALTER SYSTEM held for each setting before (null: nothing), for delete to give back. */
  before: Record<string, string | null>;
  /** Whether the server took the settings (false: its admin role may not ALTER SYSTEM). */
  applied: boolean;
}

/** The settings and the values they are declared with, on a server of this major. */
function declared(inputs: SlotLimitsInputs, versionNum: number): Record<string, string> {
  return {
    max_slot_wal_keep_size: inputs.maxSlotWalKeepSizeMB < 0 ? '-1' : `${inputs.maxSlotWalKeepSizeMB}MB`,
    ...(versionNum >= 180000 ? { idle_replication_slot_timeout: inputs.idleReplicationSlotTimeout } : {}),
  };
}

async function versionOf(client: Client): Promise<number> {
  return (await client.query<{ v: number }>(server.version)).rows[0]?.v ?? 0;
}

/** What postgresql.auto.conf (ALTER SYSTEM) holds for each setting now, or null. */
async function alterSystemValues(client: Client, names: string[]): Promise<Record<string, string | null>> {
  const rows = (await client.query<SettingValue>(settingsSql.alterSystem, [names])).rows;
  return Object.fromEntries(
    names.map((n) => [n, [...rows].reverse().find((r) => r.name === n)?.setting ?? null]),
  );
}

/** Where the server keeps what it had before the first create (see the file's comment). */
const BEFORE_MARK = 'pg_federation.slot_limits_before';

/** What an earlier, interrupted create recorded the server had; undefined when none did. */
async function recordedBefore(client: Client): Promise<Record<string, string | null> | undefined> {
  const text = (await alterSystemValues(client, [BEFORE_MARK]))[BEFORE_MARK];
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, string | null>;
  } catch {
    return undefined; // not ours to read
  }
}

/** ALTER SYSTEM each setting (a null value resets it), then reload. */
async function alterSystem(client: Client, values: Record<string, string | null>): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    await client.query(value === null ? settingsSql.reset(name) : settingsSql.set(name, value));
  }
  await client.query(server.reloadConf);
}

async function apply(
  inputs: SlotLimitsInputs,
  before?: Record<string, string | null>,
): Promise<Pick<SlotLimitsOutputs, 'before' | 'applied'>> {
  return explained(`slot limits of member "${inputs.member}"`, [inputs.connection.password], () =>
    withClient(inputs.member, inputs.connection, async (client) => {
      const values = declared(inputs, await versionOf(client));
      try {
        // Reading postgresql.auto.conf, like writing it, takes what a superuser may.
        const previous =
          before ?? (await recordedBefore(client)) ?? (await alterSystemValues(client, Object.keys(values)));
        if (before === undefined) {
          // Before 15 ALTER SYSTEM takes a custom setting only once the session knows it.
          await client.query(settingsSql.placeholder, [BEFORE_MARK]);
          await client.query(settingsSql.set(BEFORE_MARK, JSON.stringify(previous)));
        }
        await alterSystem(client, values);
        return { before: previous, applied: true };
      } catch (err) {
        report(
          `member "${inputs.member}": its admin role could not ALTER SYSTEM (${errorMessage(err, [inputs.connection.password])}), ` +
            `so the WAL its subscribers' slots keep there is not bounded by pg-federation:maxSlotWalKeepSize: set ` +
            `${Object.entries(values)
              .map(([n, v]) => `${n} = '${v}'`)
              .join(', ')} on that server yourself`,
        );
        return { before: before ?? {}, applied: false };
      }
    }),
  );
}

export const slotLimitsProvider = {
  configure: configureProvider,

  async diff(_id: string, olds: SlotLimitsOutputs, news: SlotLimitsInputs) {
    const updates = changedKeys(olds, news, [
      'maxSlotWalKeepSizeMB',
      'idleReplicationSlotTimeout',
      'connection',
    ]);
    const replaces = changedKeys(olds, news, ['member']);
    return { changes: updates.length + replaces.length > 0, replaces };
  },

  async create(inputs: SlotLimitsInputs) {
    return { id: `${inputs.member}/slot-limits`, outs: { ...inputs, ...(await apply(inputs)) } };
  },

  async read(id: string, props?: SlotLimitsOutputs) {
    // What the server holds now: a failover to a standby without it, or a change by hand, shows as a
    // difference (the next `up` sets it again). A server that never took it is left as recorded.
    if (props === undefined || !props.applied) return { id, props };
    try {
      const now = await withClient(props.member, props.connection, async (client) => {
        const rows = (await client.query<SettingValue>(settingsSql.current, [['max_slot_wal_keep_size']]))
          .rows;
        return rows[0];
      });
      const mb = now === undefined ? props.maxSlotWalKeepSizeMB : Number(now.setting);
      return {
        id,
        props: { ...props, maxSlotWalKeepSizeMB: Number.isFinite(mb) ? mb : props.maxSlotWalKeepSizeMB },
      };
    } catch (err) {
      if (isUnreachable(err)) return { id, props }; // the other resources' reads report it
      throw err;
    }
  },

  async update(_id: string, olds: SlotLimitsOutputs, news: SlotLimitsInputs) {
    return { outs: { ...news, ...(await apply(news, olds.before)) } };
  },

  async delete(_id: string, props: SlotLimitsOutputs) {
    if (!props.applied) return;
    try {
      await explained(`slot limits of member "${props.member}"`, [props.connection.password], () =>
        withClient(props.member, props.connection, async (client) => {
          // Give back what the server had, for each setting that still holds ours (one changed
          // since by someone else is theirs now, and stays).
          const ours = declared(props, await versionOf(client));
          const now = await alterSystemValues(client, Object.keys(ours));
          const back = Object.fromEntries(
            Object.entries(props.before).filter(([name]) => now[name] === ours[name]),
          );
          // The record goes last: a delete cut short before it runs again with the record intact.
          await alterSystem(client, { ...back, [BEFORE_MARK]: null });
        }),
      );
    } catch (err) {
      if (isUnreachable(err) && isLost(props.member)) return;
      throw err;
    }
  },
} satisfies pulumi.dynamic.ResourceProvider<SlotLimitsInputs, SlotLimitsOutputs>;

export type SlotLimitsArgs = ResourceArgs<SlotLimitsInputs>;

/** The WAL budget (and idle timeout) an external member's server applies to its slots. */
export class SlotLimits extends FederationResource {
  constructor(name: string, args: SlotLimitsArgs, opts?: pulumi.CustomResourceOptions) {
    super('slotLimits', 'SlotLimits', name, args, ['connection'], opts);
  }
}
