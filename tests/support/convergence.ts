/**
 * What the tests assert about a federation's data, in one place: the seed's INSERT, row counts, and
 * "every member holds the same rows" (ids and values, compared as text in key order).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SQL_DIR } from '../../components/sql';
import { type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';

/** The seed's INSERT: 25 rows without node_name, routed to the member's own partition. */
export const SEED_INSERT = readFileSync(path.join(SQL_DIR, 'seed', 'insert.sql'), 'utf8');

/** An external member on a test server, as a user writes it in stack config. */
export function externalMember(
  server: TestServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: server.name,
    kind: 'external',
    host: '127.0.0.1',
    port: server.port,
    sslmode: 'disable',
    ...extra,
  };
}

/**
 * A PGO member whose primary is played by a test server: Pulumi and the subscriptions reach that
 * server, without TLS (no pgnodemx either: such stacks set monitoring off).
 */
export function pgoMember(server: TestServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: server.name,
    host: '127.0.0.1',
    port: server.port,
    sslmode: 'disable',
    replicationHost: '127.0.0.1',
    replicationPort: server.port,
    replicationSslmode: 'disable',
    ...extra,
  };
}

export async function countRows(server: TestServer, table = 'hippos'): Promise<number> {
  return Number((await query<{ n: string }>(server, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
}

/** Every row of a table as text, in `order`: what "the same rows" compares. */
export async function rowsText(server: TestServer, table = 'hippos', order = 'id'): Promise<string> {
  return JSON.stringify(await query(server, `SELECT * FROM ${table} ORDER BY ${order}`));
}

/**
 * Wait until every server holds `rows` rows of the table (or, without `rows`, the same number), then
 * assert they are the same rows on every one. Returns them as text.
 */
export async function converge(
  servers: TestServer[],
  rows?: number,
  opts: { table?: string; order?: string; timeoutMs?: number } = {},
): Promise<string> {
  const table = opts.table ?? 'hippos';
  await waitFor(
    `${rows ?? 'the same number of'} rows of ${table} on ${servers.map((s) => s.name).join(', ')}`,
    async () => {
      const counts = await Promise.all(servers.map((s) => countRows(s, table)));
      return rows === undefined ? new Set(counts).size === 1 : counts.every((n) => n === rows);
    },
    opts.timeoutMs ?? 60_000,
    async () =>
      `counts: ${(await Promise.all(servers.map(async (s) => `${s.name} ${await countRows(s, table)}`))).join(', ')}`,
  );
  const all = await Promise.all(servers.map((s) => rowsText(s, table, opts.order ?? 'id')));
  for (const [i, text] of all.entries())
    assert.equal(text, all[0], `${servers[i]?.name} holds the same rows of ${table}`);
  return all[0] ?? '';
}
