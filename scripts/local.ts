/**
 * The main job on an embedded default: `npm run local` starts (or reuses) one persistent PostgreSQL
 * 14 server per member of Pulumi.local.yaml, runs `pulumi up` on the `local` stack through the
 * Automation API (file state backend and passphrase secrets under `.local/`, no cloud account), and
 * prints the seed's verification query from every member.
 *
 *   npm run local            start the servers, deploy the federation, print row counts
 *   npm run local:stop       stop the servers (data kept)
 *   npm run local:destroy    destroy the stack, stop the servers, delete `.local/`
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { LocalWorkspace, type Stack } from '@pulumi/pulumi/automation';
import { Client } from 'pg';
import type { FederationConfig } from '../components/config';
import { errorMessage } from '../components/providers/connection';
import { renderSqlFile } from '../components/sql';
import {
  LOCAL_DIR,
  LOCAL_STACK,
  PROJECT_ROOT,
  STATE_DIR,
  localPassword,
  localSecret,
  localServers,
  localStackConfig,
  removeLocalData,
  startServer,
  stopServer,
} from './localServers';
import { INSTALL_HINT, pulumiOnPath } from './pulumiCli';

async function localStack(): Promise<Stack> {
  mkdirSync(STATE_DIR, { recursive: true });
  localSecret('pulumi-passphrase'); // generated once, before the stack's secrets provider needs it
  return LocalWorkspace.createOrSelectStack(
    { stackName: LOCAL_STACK, workDir: PROJECT_ROOT },
    {
      envVars: {
        PULUMI_BACKEND_URL: `file://${STATE_DIR}`,
        PULUMI_CONFIG_PASSPHRASE_FILE: path.join(LOCAL_DIR, 'pulumi-passphrase'),
        PULUMI_SKIP_UPDATE_CHECK: 'true',
      },
      secretsProvider: 'passphrase',
    },
  );
}

/** Each member's admin password, as a config secret (set once; unchanged values are not rewritten). */
async function setPasswords(stack: Stack, cfg: FederationConfig): Promise<void> {
  const current = await stack.getAllConfig();
  const known = current['pg-federation:passwords']?.value;
  const password = localPassword();
  const have = known !== undefined ? (JSON.parse(known) as Record<string, string>) : {};
  for (const member of cfg.members) {
    if (have[member.name] === password) continue;
    await stack.setConfig(`passwords["${member.name}"]`, { value: password, secret: true }, true);
  }
}

async function printCounts(cfg: FederationConfig): Promise<void> {
  const sql = renderSqlFile('verify', { identifiers: { schema: cfg.schema, table: cfg.table } });
  console.log(
    `\n${sql
      .split('\n')
      .filter((l) => !l.startsWith('--'))
      .join(' ')
      .trim()}`,
  );
  for (const member of cfg.members) {
    const client = new Client({
      host: member.admin.host,
      port: member.admin.port,
      user: member.user,
      password: localPassword(),
      database: cfg.database,
    });
    await client.connect();
    try {
      const rows = (await client.query<{ node_name: string; count: string }>(sql)).rows;
      const cells = rows.map((r) => `${r.node_name} ${r.count}`).join(', ');
      console.log(`  ${member.name.padEnd(16)} ${cells.length > 0 ? cells : '(no rows yet)'}`);
    } finally {
      await client.end();
    }
  }
}

async function up(): Promise<number> {
  const cfg = localStackConfig();
  for (const server of localServers(cfg)) {
    const how = await startServer(server, cfg.maxMembers);
    console.log(
      `${server.name}: PostgreSQL 14 on 127.0.0.1:${server.port} (${how}, data in ${path.relative(PROJECT_ROOT, server.dataDir)})`,
    );
  }
  if (!pulumiOnPath()) {
    console.error(
      `pg-federation: ${INSTALL_HINT}. The servers keep running; \`npm run local:stop\` stops them.`,
    );
    return 1;
  }
  const stack = await localStack();
  await setPasswords(stack, cfg);
  const result = await stack.up({ onOutput: (out) => process.stdout.write(out) });
  console.log(
    `\npulumi up: ${result.summary.result}; members: ${JSON.stringify(Object.keys(result.outputs.members?.value ?? {}))}`,
  );
  await printCounts(cfg);
  console.log('\nInsert rows on any member, e.g.:');
  console.log(
    `  psql "host=127.0.0.1 port=${cfg.members[0]?.admin.port} user=postgres dbname=${cfg.database}" (password in .local/postgres-password)`,
  );
  return 0;
}

async function stop(): Promise<number> {
  for (const server of localServers()) console.log(`${server.name}: ${await stopServer(server)}`);
  return 0;
}

async function destroy(): Promise<number> {
  const cfg = localStackConfig();
  if (pulumiOnPath()) {
    for (const server of localServers(cfg)) await startServer(server, cfg.maxMembers);
    const stack = await localStack();
    await stack.destroy({ onOutput: (out) => process.stdout.write(out) });
    await stack.workspace.removeStack(LOCAL_STACK);
  } else {
    console.error(`pg-federation: ${INSTALL_HINT}; removing the local servers and their data without it.`);
  }
  for (const server of localServers(cfg)) await stopServer(server);
  removeLocalData();
  console.log(`removed ${path.relative(PROJECT_ROOT, LOCAL_DIR)}/`);
  return 0;
}

const commands: Record<string, () => Promise<number>> = { up, stop, destroy };

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'up';
  const command = commands[name];
  if (command === undefined) {
    console.error(`usage: ts-node scripts/local.ts [${Object.keys(commands).join('|')}]`);
    process.exit(2);
  }
  process.exit(await command());
}

main().catch((err: unknown) => {
  console.error(`pg-federation: ${errorMessage(err, [localPassword()])}`);
  process.exit(1);
});
