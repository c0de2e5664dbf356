/** `npm run status` run in this process, as the status suites call it, and what they break with. */
import { Client } from 'pg';
import { clientConfig } from '../../components/providers/connection';
import { runStatus } from '../../scripts/status';
import type { TestServer } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from './secrets';

/** Run the status command in this process; its exit status and what it printed. */
export async function status(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, env: { ...process.env } };
  console.log = (...a: unknown[]) => out.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => err.push(a.map(String).join(' '));
  process.env = Object.fromEntries(
    Object.entries({ ...process.env, PGPASSWORD: TEST_PASSWORD, ...env }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  try {
    const code = await runStatus(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.env = saved.env;
  }
}

/** A statement run as logical replication runs its writes: past the ownership guards. */
export async function asReplica<R extends Record<string, unknown>>(
  server: TestServer,
  text: string,
  params: unknown[] = [],
) {
  const client = new Client(clientConfig(server.connection));
  await client.connect();
  try {
    await client.query('SET session_replication_role = replica');
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export function memberFlags(servers: TestServer[]): string[] {
  return servers.flatMap((s) => ['--member', `${s.name}=127.0.0.1:${s.port}`]);
}
