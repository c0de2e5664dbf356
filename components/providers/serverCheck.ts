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

export interface ServerCheckInputs {
  member: string;
  connection: PgConnection;
  /** Members in the federation today. */
  members: number;
  /** What components/replicationSettings.ts recommends for that size (shown in the message). */
  recommended: Record<string, number>;
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
  const res = await client.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name = ANY($1)`,
    [
      [
        'wal_level',
        'max_replication_slots',
        'max_wal_senders',
        'max_logical_replication_workers',
        'max_worker_processes',
        'server_version_num',
        'server_version',
      ],
    ],
  );
  const settings = Object.fromEntries(res.rows.map((r) => [r.name, r.setting]));
  const role = await client.query<{ rolsuper: boolean }>(
    'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
  );
  // A role that may not read it (not a superuser: reported below) leaves it unknown.
  const readable = await client.query<{ ok: boolean }>(
    "SELECT has_function_privilege('pg_control_system()', 'EXECUTE') AS ok",
  );
  const control =
    readable.rows[0]?.ok === true
      ? await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')
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
 * An endpoint edited to reach another server: refused before anything is changed there. The
 * member's objects (its @pulumi/postgresql resources, partitions, subscriptions, the slots its peers
 * feed) live on the server it had; pointing it elsewhere would leave them behind with nothing
 * reporting it. The same server under another name (a DNS name, an address, a failover to a
 * physical standby) keeps its system identifier and passes.
 */
export function movedServer(
  olds: Pick<ServerCheckOutputs, 'member' | 'connection' | 'systemIdentifier'>,
  news: Pick<ServerCheckInputs, 'connection'>,
  found: string,
): string | undefined {
  const before = olds.systemIdentifier;
  if (before === undefined || before === 'unknown' || found === 'unknown' || before === found)
    return undefined;
  if (endpoint(olds.connection) === endpoint(news.connection)) return undefined;
  return (
    `member "${olds.member}": its endpoint changed from ${endpoint(olds.connection)} to ${endpoint(news.connection)}, ` +
    `which is another server (system identifier ${found}, was ${before}). Nothing was changed. A member's ` +
    `tables, partitions, publication, role and the slots its peers read live on its server, so moving it ` +
    `to another server by editing its endpoint would leave them behind. Either revert the edit, or keep ` +
    `the endpoint and put the new server behind it (the same host and port, or the DNS name moved) and run ` +
    `\`pulumi up --refresh\`: the member is rebuilt there from its peers (README: "Rebuild a lost member, ` +
    `or upgrade one to a newer major")`
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
  const facts = await readFacts(inputs);
  const moved = olds !== undefined ? movedServer(olds, inputs, facts.systemIdentifier) : undefined;
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
  constructor(name: string, args: ServerCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(serverCheckProvider, 'ServerCheck', name, args, ['connection'], opts);
  }
}
