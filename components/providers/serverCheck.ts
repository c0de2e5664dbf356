/**
 * ServerCheck: before anything is created on a server this program does not run (an `external`
 * member), check that it can take part in a mesh of `members` members, and stop with an error that
 * names each setting, its value and the value needed. Re-checked whenever the mesh size changes.
 *
 * Minimums let every subscription run (an apply worker, a slot and a WAL sender per peer, plus one
 * table-sync at a time); the recommended values (components/replicationSettings.ts) let all initial
 * copies run at once.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Client } from 'pg';
import { type PgConnection, type ResourceArgs, configureProvider, explained, withClient } from './connection';
import { changedKeys, containsUnknown } from './inputs';
import { FederationResource } from './resource';
import { server } from './sql/server';

export interface ServerCheckInputs {
  member: string;
  connection: PgConnection;
  /** Members in the federation today. */
  members: number;
  /** What components/replicationSettings.ts recommends for that size (shown in the message). */
  recommended: Record<string, number>;
  /** Which server the member has had (config `serverGeneration`; absent in older states: 1). */
  serverGeneration?: number;
  /** The member's publication: a server that has it already serves the member. */
  publication?: string;
}

export type ServerCheckOutputs = ServerCheckInputs & {
  serverVersion: string;
  /** The largest mesh the server's settings allow: growing up to it needs no new check. */
  supportsMembers: number;
  /**
   * Which server this is: pg_control_system()'s system_identifier, set by initdb and kept by
   * physical standbys (so a failover keeps it). Absent in the state of older versions.
   */
  systemIdentifier?: string;
};

export interface ServerFacts {
  settings: Record<string, string>;
  superuser: boolean;
  serverVersionNum: number;
  serverVersion: string;
  systemIdentifier: string;
}

async function serverFacts(client: Client): Promise<ServerFacts> {
  const res = await client.query<{ name: string; setting: string }>(server.settings, [
    [
      'wal_level',
      'max_replication_slots',
      'max_wal_senders',
      'max_logical_replication_workers',
      'max_worker_processes',
      'max_active_replication_origins', // 18+; absent before
      'server_version_num',
      'server_version',
    ],
  ]);
  const settings = Object.fromEntries(res.rows.map((r) => [r.name, r.setting]));
  const role = await client.query<{ rolsuper: boolean }>(server.superuser);
  // A role that may not read it (not a superuser: reported below) leaves it unknown.
  const readable = await client.query<{ ok: boolean }>(server.controlReadable);
  const control =
    readable.rows[0]?.ok === true
      ? await client.query<{ id: string }>(server.systemIdentifier)
      : { rows: [] };
  return {
    settings,
    systemIdentifier: control.rows[0]?.id ?? 'unknown',
    superuser: role.rows[0]?.rolsuper === true,
    serverVersionNum: Number(settings.server_version_num ?? 0),
    serverVersion: settings.server_version ?? 'unknown',
  };
}

/** The largest mesh these settings allow, by the same minimums as `unmetRequirements`. */
export function supportedMembers(facts: ServerFacts): number {
  const setting = (name: string): number => Number(facts.settings[name] ?? 0);
  return Math.min(
    setting('max_replication_slots'),
    setting('max_wal_senders'),
    setting('max_logical_replication_workers'),
    setting('max_worker_processes') - 1,
    ...(facts.settings.max_active_replication_origins !== undefined
      ? [setting('max_active_replication_origins') - 1]
      : []),
  );
}

/** Every unmet requirement, as a sentence naming the setting, its value and what is needed. */
export function unmetRequirements(
  facts: ServerFacts,
  inputs: Pick<ServerCheckInputs, 'members' | 'recommended'>,
): string[] {
  const peers = Math.max(inputs.members - 1, 1);
  const problems: string[] = [];
  if (facts.serverVersionNum < 140000) {
    problems.push(
      `PostgreSQL ${facts.serverVersion} is too old: the federated table needs 14 or newer (datemultirange)`,
    );
  }
  if (facts.settings.wal_level !== 'logical') {
    problems.push(
      `wal_level is ${facts.settings.wal_level ?? 'unknown'}, needs logical (set it and restart the server)`,
    );
  }
  const minimums: Array<[string, number]> = [
    ['max_replication_slots', peers + 1],
    ['max_wal_senders', peers + 1],
    ['max_logical_replication_workers', peers + 1],
    ['max_worker_processes', peers + 2],
  ];
  // PostgreSQL 18 bounds a subscriber's replication origins apart from its slots (default 10): one
  // per subscription and one per table-sync worker, or a new pair's copy never starts.
  if (facts.settings.max_active_replication_origins !== undefined) {
    minimums.push(['max_active_replication_origins', peers + 1]);
  }
  for (const [name, minimum] of minimums) {
    const value = Number(facts.settings[name] ?? 0);
    if (value < minimum) {
      const recommended = inputs.recommended[name];
      problems.push(
        `${name} is ${value}, needs at least ${minimum} for ${inputs.members} members` +
          (recommended !== undefined ? ` (recommended ${recommended}); set it and restart the server` : ''),
      );
    }
  }
  if (!facts.superuser) {
    problems.push(
      'the admin role is not a superuser: PostgreSQL 14 lets only superusers create subscriptions',
    );
  }
  return problems;
}

const endpoint = (c: PgConnection): string => `${c.host}:${c.port}/${c.database}`;

/**
 * An endpoint edited to reach another server without a new `serverGeneration`: refused before
 * anything is changed. The member's objects (its @pulumi/postgresql resources, partitions,
 * subscriptions, the slots its peers feed) live on the server it had; pointing them elsewhere in
 * place would leave them behind with nothing reporting it. The same server under another name (a
 * DNS name, an address, a failover to a physical standby) keeps its system identifier and passes.
 * (A new generation replaces this resource, so its update never sees a planned move.)
 */
export function movedServer(
  olds: Pick<ServerCheckOutputs, 'member' | 'connection' | 'systemIdentifier' | 'serverGeneration'>,
  news: Pick<ServerCheckInputs, 'connection' | 'serverGeneration'>,
  found: string,
): string | undefined {
  const before = olds.systemIdentifier;
  if (before === undefined || before === 'unknown' || found === 'unknown' || before === found)
    return undefined;
  if (endpoint(olds.connection) === endpoint(news.connection)) return undefined;
  const generation = olds.serverGeneration ?? 1;
  const what =
    `member "${olds.member}": its endpoint changed from ${endpoint(olds.connection)} to ${endpoint(news.connection)}, ` +
    `which is another server (system identifier ${found}, was ${before}). Nothing was changed. `;
  if ((news.serverGeneration ?? 1) !== generation) {
    return (
      what +
      `Its serverGeneration changed too, but this stack's state was last written by a version of pg-federation ` +
      `that did not record it, so the move cannot be planned: revert both edits, run \`pulumi up\` once, then make them again`
    );
  }
  return (
    what +
    `A member's tables, partitions, publication, role and the slots its peers read live on its server. ` +
    `To move the member to that server (new and empty), raise its serverGeneration to ${generation + 1} in the same edit: ` +
    `\`pulumi up\` then makes everything of it there, restores its own partitions from its peers' copies and ` +
    `removes it from the old server, which must stay reachable until up returns. Otherwise revert the edit ` +
    `(README: "Rebuild a lost member, or upgrade one to a newer major")`
  );
}

/** A member moved to a server that already serves it (a new generation must be a new server). */
async function alreadyServing(client: Client, inputs: ServerCheckInputs): Promise<string | undefined> {
  const generation = inputs.serverGeneration ?? 1;
  if (generation <= 1 || inputs.publication === undefined) return undefined;
  const found = await client.query(server.hasPublication, [inputs.publication]);
  if (found.rowCount === 0) return undefined;
  return (
    `member "${inputs.member}": serverGeneration ${generation} moves it to a new server, but the server at ` +
    `${endpoint(inputs.connection)} already has its publication ${inputs.publication}: it is the member's ` +
    `current server, or one that served it. Nothing was changed. Point host/port at a new, empty server, ` +
    `or set serverGeneration back to ${generation - 1}`
  );
}

async function readFacts(inputs: Pick<ServerCheckInputs, 'member' | 'connection'>): Promise<ServerFacts> {
  return explained(`preflight of member "${inputs.member}"`, [inputs.connection.password], () =>
    withClient(inputs.member, inputs.connection, serverFacts),
  );
}

async function check(
  inputs: ServerCheckInputs,
  olds?: ServerCheckOutputs,
): Promise<Pick<ServerCheckOutputs, 'serverVersion' | 'supportsMembers' | 'systemIdentifier'>> {
  const { facts, serving } = await explained(
    `preflight of member "${inputs.member}"`,
    [inputs.connection.password],
    () =>
      withClient(inputs.member, inputs.connection, async (client) => ({
        facts: await serverFacts(client),
        serving: olds === undefined ? await alreadyServing(client, inputs) : undefined,
      })),
  );
  const moved = olds !== undefined ? movedServer(olds, inputs, facts.systemIdentifier) : serving;
  if (moved !== undefined) throw new Error(moved);
  const problems = unmetRequirements(facts, inputs);
  if (problems.length > 0) {
    throw new Error(
      `member "${inputs.member}" cannot join the federation yet:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return {
    serverVersion: facts.serverVersion,
    supportsMembers: supportedMembers(facts),
    systemIdentifier: facts.systemIdentifier,
  };
}

export const serverCheckProvider = {
  configure: configureProvider,

  async diff(_id: string, olds: ServerCheckOutputs, news: ServerCheckInputs) {
    // A mesh that grows within what the server was seen to support needs no new check, so adding a
    // member shows as additions only; growing past it checks the server again before anything else.
    const grows = containsUnknown(news.members) || news.members > (olds.supportsMembers ?? olds.members);
    const changes = grows || changedKeys(olds, news, ['connection']).length > 0;
    return { changes, replaces: changedKeys(olds, news, ['member']) };
  },

  async create(inputs: ServerCheckInputs) {
    return { id: `${inputs.member}/preflight`, outs: { ...inputs, ...(await check(inputs)) } };
  },

  async read(id: string, props?: ServerCheckOutputs) {
    // A refresh records which server answers at the endpoint now (a rebuilt one is another server).
    // An unreachable server leaves the record as it was: the other resources' reads report it.
    if (props === undefined) return { id, props };
    try {
      return { id, props: { ...props, systemIdentifier: (await readFacts(props)).systemIdentifier } };
    } catch {
      return { id, props };
    }
  },

  async update(_id: string, olds: ServerCheckOutputs, news: ServerCheckInputs) {
    return { outs: { ...news, ...(await check(news, olds)) } };
  },

  async delete() {
    // Nothing was created.
  },
} satisfies pulumi.dynamic.ResourceProvider<ServerCheckInputs, ServerCheckOutputs>;

export type ServerCheckArgs = ResourceArgs<ServerCheckInputs>;

/** The preflight check of an external member. */
export class ServerCheck extends FederationResource {
  /** `server_version` of the server it checked (`18.4`). */
  declare readonly serverVersion: pulumi.Output<string>;

  constructor(name: string, args: ServerCheckArgs, opts?: pulumi.CustomResourceOptions) {
    // An output that is no input is declared by naming it undefined (it is not sent as an input).
    super('serverCheck', 'ServerCheck', name, { ...args, serverVersion: undefined }, ['connection'], opts);
  }
}
