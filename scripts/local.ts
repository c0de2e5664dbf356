/**
 * The main job on an embedded default: one persistent PostgreSQL server per member of the tracked
 * Pulumi.local.yaml, federated by `pulumi up` of the `local` stack (file state backend and
 * passphrase secrets under `.local/`, no cloud account; see scripts/localStack.ts). Nothing it does
 * writes a tracked file.
 *
 *   npm run local                 start the servers, deploy the federation (up --refresh), print the row counts
 *   npm run local:preview         what `npm run local` would change now (Pulumi.local.yaml as it is)
 *   npm run local:insert -- NAME  the seed's INSERT (25 rows) on member NAME (default: every member)
 *   npm run local:verify          the seed's verification query on every member
 *   npm run local:status          replication health (npm run status on the local stack)
 *   npm run local:repair          clear what an interrupted run left (a lock, pending operations)
 *   npm run local:pulumi -- ARGS  any pulumi command on the local stack
 *   npm run local:stop            stop the servers (data kept)
 *   npm run local:destroy         stop the servers, delete them and everything the local stack wrote
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { ConfigError } from '../components/config/errors';
import { adminConnection, readCaFile } from '../components/endpoints';
import { errorMessage, withClient } from '../components/providers/connection';
import type { FederationConfig, MemberConfig } from '../components/stackConfig';
import { SQL_DIR } from '../components/sql';
import { majorOf, postgresVersion } from './embedded/postgres';
import { LocalConfigError } from './localConfig';
import { lastUpdate, repairStack, runLocalPulumi, stackBlocked } from './localRun';
import {
  LOCAL_DIR,
  LOCAL_STACK,
  PROJECT_ROOT,
  everyLocalServer,
  existingLocalPassword,
  localPassword,
  localRawConfig,
  localServers,
  localStackConfig,
  notServing,
  removeLocalData,
  startServer,
  stopServer,
} from './localServers';
import {
  WORKSPACE_DIR,
  localStackEnv,
  localStackExists,
  membersChangedSinceDeploy,
  openLocalStack,
  recordDeployedMembers,
} from './localStack';
import { INSTALL_HINT, pulumiOnPath } from './pulumiCli';
import { runStatus } from './status';

const SEED_INSERT = readFileSync(path.join(SQL_DIR, 'seed', 'insert.sql'), 'utf8');
const SEED_VERIFY = readFileSync(path.join(SQL_DIR, 'seed', 'verify.sql'), 'utf8');

const USAGE = `usage: npm run local[:preview|:insert|:verify|:status|:repair|:pulumi|:stop|:destroy]

  npm run local                  start the local servers and deploy the federation (pulumi up --refresh)
  npm run local:preview          what \`npm run local\` would change now (pulumi preview --refresh --diff)
  npm run local:insert [-- NAME] the seed's INSERT (25 rows) on member NAME, or on every member
  npm run local:verify           the seed's verification query (rows per node_name) on every member
  npm run local:status           replication health of the local federation (exit 0 healthy, 1 not)
  npm run local:repair           clear what an interrupted run left: its lock, its pending operations
  npm run local:pulumi -- ARGS   any pulumi command on the local stack (e.g. -- stack --show-urns)
  npm run local:stop             stop the servers (their data is kept)
  npm run local:destroy          stop the servers, delete .local/ and the servers' data

Ctrl-C during a run stops it cleanly (a second Ctrl-C at once). Members and settings:
Pulumi.local.yaml (tracked; the job never writes it).`;

/** A problem whose message says what to do: printed as it is, exit 1. */
class Refusal extends Error {}

async function withMember<T>(member: MemberConfig, cfg: FederationConfig, fn: (c: Client) => Promise<T>) {
  const ca =
    member.admin.sslrootcert !== undefined ? readCaFile(member.name, member.admin.sslrootcert) : undefined;
  return withClient(member.name, adminConnection(member, cfg.database, localPassword(), ca), fn);
}

/** The seed's verification query on every member, as the seed prints it. */
async function printCounts(cfg: FederationConfig): Promise<void> {
  console.log(`\n${SEED_VERIFY.replace(/^--.*\n/gm, '').trim()}`);
  for (const member of cfg.members) {
    const rows = await withMember(
      member,
      cfg,
      async (c) =>
        (
          await c.query<{ node_name: string; count: string }>(
            `${SEED_VERIFY.replace(/;\s*$/, '')} ORDER BY 1`,
          )
        ).rows,
    );
    const cells = rows.map((r) => `${r.node_name} ${r.count}`).join(', ');
    console.log(`  ${member.name.padEnd(16)} ${cells.length > 0 ? cells : '(no rows yet)'}`);
  }
}

async function startAll(cfg: FederationConfig): Promise<void> {
  for (const server of localServers(cfg)) {
    const how = await startServer(server, cfg.maxMembers);
    const version = await postgresVersion(majorOf(server.dataDir));
    console.log(
      `${server.name}: PostgreSQL ${version} on 127.0.0.1:${server.port} (${how}, data in ${server.dataDir})`,
    );
  }
}

/** The servers' state (the ones it runs), the CLI, and the stack free to run, or a refusal. */
async function readyToRun(cfg: FederationConfig): Promise<void> {
  await startAll(cfg);
  if (!pulumiOnPath()) {
    throw new Refusal(
      `${INSTALL_HINT}. The servers keep running, but hold no federation until \`pulumi up\` runs ` +
        '(`npm run local:stop` stops them).',
    );
  }
  const blocked = stackBlocked();
  if (blocked !== undefined) throw new Refusal(blocked);
  await openLocalStack(cfg.members.map((m) => m.name));
}

function interrupted(interrupts: number, what: string): number {
  console.error(
    interrupts === 1
      ? `pg-federation: ${what} stopped cleanly (the steps under way finished and were recorded); run it again to go on`
      : `pg-federation: ${what} was stopped at once; run it again (if it says the stack is locked, \`npm run local:repair\` first)`,
  );
  return 130;
}

function noArgs(command: string, args: string[]): void {
  if (args.length > 0) throw new UsageError(`npm run ${command} takes no arguments (got ${args.join(' ')})`);
}

async function up(args: string[]): Promise<number> {
  noArgs('local', args);
  const cfg = localStackConfig();
  await readyToRun(cfg);
  const raw = localRawConfig();
  const failed = 'pulumi up failed (its errors above); fix what they say and run `npm run local` again';
  const moved = membersChangedSinceDeploy(raw);
  if (moved.length > 0) {
    // A refresh would read these members' resources through the connections their state holds,
    // which their servers no longer take (TLS switched on, another port): an up moves them first.
    console.log(
      `pg-federation: ${moved.join(', ')} connect${moved.length === 1 ? 's' : ''} differently since the last run: pulumi up moves ${moved.length === 1 ? 'it' : 'them'} first, then refreshes`,
    );
    const first = await runLocalPulumi(['up', '--yes', '--skip-preview']);
    if (first.interrupts > 0) return interrupted(first.interrupts, '`npm run local`');
    if (first.code !== 0) throw new Refusal(failed);
    const moving = await lastUpdate();
    console.log(`\npulumi up (new connections): ${JSON.stringify(moving?.resourceChanges ?? {})}\n`);
  }
  // The refresh first: what happened to the servers (a member's server lost, a slot gone) is seen,
  // and the up repairs it; never a silent "unchanged" over a broken mesh.
  const run = await runLocalPulumi(['up', '--yes', '--skip-preview', '--refresh']);
  if (run.interrupts > 0) return interrupted(run.interrupts, '`npm run local`');
  if (run.code !== 0) throw new Refusal(failed);
  recordDeployedMembers(raw);
  const last = await lastUpdate();
  console.log(`\npulumi up: ${last?.result ?? 'succeeded'}; ${JSON.stringify(last?.resourceChanges ?? {})}`);
  await printCounts(cfg);
  console.log(
    `\nNext: \`npm run local:insert -- ${cfg.members[0]?.name ?? 'NAME'}\` writes the seed's 25 rows there, ` +
      '`npm run local:verify` shows them on every member, `npm run local:status` checks replication.',
  );
  return 0;
}

async function preview(args: string[]): Promise<number> {
  noArgs('local:preview', args);
  const cfg = localStackConfig();
  await readyToRun(cfg);
  const moved = membersChangedSinceDeploy(localRawConfig());
  if (moved.length > 0) {
    console.log(
      `pg-federation: ${moved.join(', ')} connect${moved.length === 1 ? 's' : ''} differently since the last run: previewed without a refresh (which would try the old connections)`,
    );
  }
  const run = await runLocalPulumi(['preview', ...(moved.length > 0 ? [] : ['--refresh']), '--diff']);
  if (run.interrupts > 0) return interrupted(run.interrupts, '`npm run local:preview`');
  return run.code === 0 ? 0 : 1;
}

async function pulumiCommand(args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('npm run local:pulumi -- ARGS: give the pulumi command to run');
  if (!pulumiOnPath()) throw new Refusal(INSTALL_HINT);
  if (!localStackExists())
    throw new Refusal('the local stack has not been deployed yet; run `npm run local` first');
  await openLocalStack();
  const run = spawnSync('pulumi', [...args, ...(args.includes('--stack') ? [] : ['--stack', LOCAL_STACK])], {
    cwd: WORKSPACE_DIR,
    env: { ...process.env, ...localStackEnv() },
    stdio: 'inherit',
  });
  return run.status ?? 1;
}

async function repair(args: string[]): Promise<number> {
  noArgs('local:repair', args);
  if (!localStackExists()) throw new Refusal('the local stack has not been deployed yet; nothing to repair');
  if (!pulumiOnPath()) throw new Refusal(INSTALL_HINT);
  const cfg = localStackConfig();
  for (const done of await repairStack()) console.log(`repair: ${done}`);
  await startAll(cfg);
  await openLocalStack(cfg.members.map((m) => m.name));
  // Records what the interrupted run did and forgets the creates it never recorded (every
  // provider of this program adopts what such a create left; the next `up` makes the rest).
  const run = await runLocalPulumi(['refresh', '--yes', '--skip-preview', '--clear-pending-creates']);
  if (run.interrupts > 0) return interrupted(run.interrupts, '`npm run local:repair`');
  if (run.code !== 0) throw new Refusal('pulumi refresh failed (its errors above)');
  console.log('repair: the local stack is whole again; `npm run local` goes on from here');
  return 0;
}

/** The local servers' password, or a refusal when the job has made none (nothing to connect to). */
function madeServers(): void {
  if (existingLocalPassword() === undefined) {
    throw new Refusal(
      'the local federation does not exist (yet, or since local:destroy); `npm run local` makes it',
    );
  }
}

async function serving(cfg: FederationConfig): Promise<void> {
  const problems = await notServing(localServers(cfg));
  if (problems.length > 0) throw new Refusal(problems.join('\npg-federation: '));
}

async function insert(names: string[]): Promise<number> {
  const cfg = localStackConfig();
  const unknown = names.filter((n) => !cfg.members.some((m) => m.name === n));
  if (unknown.length > 0) {
    throw new UsageError(
      `no member ${unknown.join(', ')} in Pulumi.local.yaml (members: ${cfg.members.map((m) => m.name).join(', ')})`,
    );
  }
  madeServers();
  await serving(cfg);
  const targets = names.length > 0 ? cfg.members.filter((m) => names.includes(m.name)) : cfg.members;
  for (const member of targets) {
    const inserted = await withMember(member, cfg, async (c) => (await c.query(SEED_INSERT)).rowCount);
    console.log(`${member.name}: inserted ${inserted ?? 0} rows`);
  }
  return 0;
}

async function verify(args: string[]): Promise<number> {
  noArgs('local:verify', args);
  const cfg = localStackConfig();
  madeServers();
  await serving(cfg);
  await printCounts(cfg);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const cfg = localStackConfig();
  if (!args.includes('--help') && !args.includes('-h')) {
    if (!localStackExists())
      throw new Refusal('the local stack has not been deployed yet; run `npm run local` first');
    for (const s of everyLocalServer(cfg)) {
      const where = s.port > 0 ? ` on 127.0.0.1:${s.port}` : '';
      console.log(
        `server ${s.name}${where}: ${s.running ? 'running' : 'stopped'}${s.configured ? '' : ' (not in Pulumi.local.yaml: `npm run local:stop` stops it)'}`,
      );
    }
    await serving(cfg);
    console.log('');
  }
  return runStatus(['--stack', LOCAL_STACK, ...args]);
}

async function stop(args: string[]): Promise<number> {
  noArgs('local:stop', args);
  for (const server of everyLocalServer(localStackConfig())) {
    const note = server.configured ? '' : ' (not in Pulumi.local.yaml)';
    console.log(`${server.name}: ${await stopServer(server)}${note}`);
  }
  return 0;
}

async function destroy(args: string[]): Promise<number> {
  noArgs('local:destroy', args);
  // Everything the local stack made lives on these servers and its state under .local/: stopping
  // the servers and deleting both leaves nothing (no `pulumi destroy` needed, nor its warnings
  // about tables kept that are deleted next). A lock or a damaged state is no obstacle either.
  for (const server of everyLocalServer(localStackConfig())) await stopServer(server);
  removeLocalData();
  console.log(`removed ${path.relative(PROJECT_ROOT, LOCAL_DIR) || LOCAL_DIR}/ and the servers' data`);
  return 0;
}

class UsageError extends Error {}

const commands: Record<string, (args: string[]) => Promise<number>> = {
  up,
  preview,
  pulumi: pulumiCommand,
  repair,
  insert,
  verify,
  status,
  stop,
  destroy,
};

async function main(): Promise<number> {
  const [name = 'up', ...args] = process.argv.slice(2);
  const help = args.includes('--help') || args.includes('-h');
  if (name === '--help' || name === 'help' || (help && name !== 'status' && name !== 'pulumi')) {
    console.log(USAGE);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  try {
    return await command(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`pg-federation: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof LocalConfigError || err instanceof ConfigError) {
      console.error(
        `pg-federation: ${err instanceof ConfigError ? `Pulumi.local.yaml: ${err.message}` : err.message}`,
      );
      return 2;
    }
    if (err instanceof Refusal) {
      console.error(`pg-federation: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`pg-federation: ${errorMessage(err, [existingLocalPassword()])}`);
    process.exit(1);
  },
);
