/**
 * The main job on an embedded default: one persistent PostgreSQL server per member of the tracked
 * Pulumi.local.yaml, federated by `pulumi up` of the `local` stack through the Automation API (file
 * state backend and passphrase secrets under `.local/`, no cloud account; see scripts/localStack.ts).
 * Nothing it does writes a tracked file.
 *
 *   npm run local                 start the servers, deploy the federation, print the row counts
 *   npm run local:insert -- NAME  the seed's INSERT (25 rows) on member NAME (default: every member)
 *   npm run local:verify          the seed's verification query on every member
 *   npm run local:status          replication health (npm run status on the local stack)
 *   npm run local:stop            stop the servers (data kept)
 *   npm run local:destroy         pulumi destroy, stop the servers, delete what the local stack wrote
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { adminConnection, readCaFile } from '../components/endpoints';
import { errorMessage, withClient } from '../components/providers/connection';
import type { FederationConfig, MemberConfig } from '../components/stackConfig';
import { SQL_DIR } from '../components/sql';
import { majorOf, postgresVersion } from './embedded/postgres';
import {
  LOCAL_DIR,
  LOCAL_STACK,
  PROJECT_ROOT,
  localPassword,
  localServers,
  localStackConfig,
  removeLocalData,
  startServer,
  stopServer,
} from './localServers';
import { localStackExists, openLocalStack } from './localStack';
import { INSTALL_HINT, pulumiOnPath } from './pulumiCli';
import { runStatus } from './status';

const SEED_INSERT = readFileSync(path.join(SQL_DIR, 'seed', 'insert.sql'), 'utf8');
const SEED_VERIFY = readFileSync(path.join(SQL_DIR, 'seed', 'verify.sql'), 'utf8');

const USAGE = `usage: npm run local[:insert|:verify|:status|:stop|:destroy]

  npm run local                  start the local servers and deploy the federation (pulumi up)
  npm run local:insert [-- NAME] the seed's INSERT (25 rows) on member NAME, or on every member
  npm run local:verify           the seed's verification query (rows per node_name) on every member
  npm run local:status           replication health of the local federation (exit 0 healthy, 1 not)
  npm run local:stop             stop the servers (their data is kept)
  npm run local:destroy          pulumi destroy, stop the servers, delete .local/ and the servers' data

Members and settings: Pulumi.local.yaml (tracked; the job never writes it).`;

async function withMember<T>(member: MemberConfig, cfg: FederationConfig, fn: (c: Client) => Promise<T>) {
  const ca =
    member.admin.sslrootcert !== undefined ? readCaFile(member.name, member.admin.sslrootcert) : undefined;
  return withClient(member.name, adminConnection(member, cfg.database, localPassword(), ca), fn);
}

/** The seed's verification query on every member, as the seed prints it. */
async function printCounts(cfg: FederationConfig): Promise<void> {
  console.log(`\n${SEED_VERIFY.replace(/^--.*\n/gm, '').trim()}`);
  for (const member of cfg.members) {
    try {
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
    } catch (err) {
      console.log(`  ${member.name.padEnd(16)} ${errorMessage(err, [localPassword()])}`);
    }
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

async function up(): Promise<number> {
  const cfg = localStackConfig();
  await startAll(cfg);
  if (!pulumiOnPath()) {
    console.error(
      `pg-federation: ${INSTALL_HINT}. The servers keep running, but hold no federation until \`pulumi up\` runs ` +
        '(`npm run local:stop` stops them).',
    );
    return 1;
  }
  const stack = await openLocalStack(cfg.members.map((m) => m.name));
  const result = await stack.up({ onOutput: (out) => process.stdout.write(out) });
  console.log(
    `\npulumi up: ${result.summary.result}; ${JSON.stringify(result.summary.resourceChanges ?? {})}`,
  );
  await printCounts(cfg);
  console.log(
    `\nNext: \`npm run local:insert -- ${cfg.members[0]?.name ?? 'NAME'}\` writes the seed's 25 rows there, ` +
      '`npm run local:verify` shows them on every member, `npm run local:status` checks replication.',
  );
  return 0;
}

async function insert(names: string[]): Promise<number> {
  const cfg = localStackConfig();
  const unknown = names.filter((n) => !cfg.members.some((m) => m.name === n));
  if (unknown.length > 0) {
    console.error(
      `pg-federation: no member ${unknown.join(', ')} in Pulumi.local.yaml (members: ${cfg.members.map((m) => m.name).join(', ')})`,
    );
    return 2;
  }
  const targets = names.length > 0 ? cfg.members.filter((m) => names.includes(m.name)) : cfg.members;
  for (const member of targets) {
    const inserted = await withMember(member, cfg, async (c) => (await c.query(SEED_INSERT)).rowCount);
    console.log(`${member.name}: inserted ${inserted ?? 0} rows`);
  }
  return 0;
}

async function verify(): Promise<number> {
  await printCounts(localStackConfig());
  return 0;
}

async function status(args: string[]): Promise<number> {
  if (!localStackExists()) {
    console.error('pg-federation: the local stack has not been deployed yet; run `npm run local` first');
    return 2;
  }
  return runStatus(['--stack', LOCAL_STACK, ...args]);
}

async function stop(): Promise<number> {
  for (const server of localServers()) console.log(`${server.name}: ${await stopServer(server)}`);
  return 0;
}

async function destroy(): Promise<number> {
  const cfg = localStackConfig();
  if (pulumiOnPath() && localStackExists()) {
    await startAll(cfg);
    const stack = await openLocalStack();
    await stack.destroy({ onOutput: (out) => process.stdout.write(out) });
  } else if (!pulumiOnPath()) {
    console.error(`pg-federation: ${INSTALL_HINT}; removing the local servers and their data without it.`);
  }
  for (const server of localServers(cfg)) await stopServer(server);
  removeLocalData();
  console.log(`removed ${path.relative(PROJECT_ROOT, LOCAL_DIR) || LOCAL_DIR}/ and the servers' data`);
  return 0;
}

const commands: Record<string, (args: string[]) => Promise<number>> = {
  up: () => up(),
  insert,
  verify: () => verify(),
  status,
  stop: () => stop(),
  destroy: () => destroy(),
};

async function main(): Promise<number> {
  const [name = 'up', ...args] = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h') || name === '--help' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  return command(args);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`pg-federation: ${errorMessage(err, [localPassword()])}`);
    process.exit(1);
  },
);
