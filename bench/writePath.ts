/**
 * The local write path, side by side on one server: a plain table, the federated table (routing by
 * column default, ownership guards on the other partitions) and the seed's AFTER STATEMENT trigger.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { type MemberPlan, memberPlan, plan } from '../components/plan';
import { clientConfig } from '../components/providers/connection';
import { configFor } from '../scripts/embedded/driver';
import { postgresqlResources } from '../scripts/embedded/postgresqlResources';
import type { TestServer } from '../scripts/embedded/serverSet';
import { median, timed } from './stats';

export type Variant = 'plain' | 'federated' | 'seed';
export const VARIANTS: Variant[] = ['plain', 'federated', 'seed'];

const VALUE = `datemultirange(daterange(CURRENT_DATE, CURRENT_DATE + 3), daterange(CURRENT_DATE + 100, CURRENT_DATE + 110))`;

export interface WritePathResult {
  variant: Variant;
  singleRowMs: number;
  bulkMs: number;
  singleRowAfter50kMs: number;
}

/** hippo-east's plan in `schema`: the member whose SQL the write path runs (its peers only named). */
function writePathMember(schema: string): MemberPlan {
  // As every engine-less test configures members: each on a server of its own (none is reached).
  const peers = ['hippo-east', 'hippo-central', 'hippo-west'].map((name, i) => ({ name, port: 5432 + i }));
  return memberPlan(plan({ ...configFor(peers), schema }), 'hippo-east');
}

async function setup(client: Client): Promise<void> {
  await client.query(`CREATE SCHEMA plain; CREATE TABLE plain.hippos (
      id uuid DEFAULT gen_random_uuid() PRIMARY KEY, node_name text, value datemultirange, created_at timestamptz)`);
  const schema = 'federated';
  const mp = writePathMember(schema);
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(postgresqlResources.function(mp.nodeNameFunction.inputs));
  for (const t of mp.tables) await client.query(t.inputs.sql);
  for (const p of [...mp.ownPartitions, ...mp.landings]) {
    await client.query(p.inputs.createSql);
    if (p.inputs.guardSql !== '') await client.query(p.inputs.guardSql);
  }
  await client.query('CREATE SCHEMA seed; SET search_path = seed');
  await client.query(readFileSync(path.join(__dirname, 'seed-schema.sql'), 'utf8'));
  await client.query('RESET search_path');
}

async function truncate(client: Client, variant: Variant): Promise<void> {
  // As replication would: the ownership guards guard against sessions, not against maintenance.
  await client.query(
    `SET session_replication_role = replica; TRUNCATE ${variant}.hippos; RESET session_replication_role`,
  );
  await client.query(`VACUUM ANALYZE ${variant}.hippos`);
}

async function bulk(client: Client, rows: number): Promise<void> {
  await client.query(
    `INSERT INTO hippos (value, created_at) SELECT ${VALUE}, clock_timestamp() FROM generate_series(1, ${rows})`,
  );
}

async function singleRows(client: Client, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await client.query(`INSERT INTO hippos (value, created_at) VALUES (${VALUE}, clock_timestamp())`);
  }
}

export async function benchWritePath(
  server: TestServer,
  opts: { rounds: number; singleRows: number; bulkRows: number; preload: number },
  log: (line: string) => void,
): Promise<WritePathResult[]> {
  const admin = new Client(clientConfig(server.connection, 'pg-federation-bench'));
  await admin.connect();
  await setup(admin);
  const clients = new Map<Variant, Client>();
  for (const variant of VARIANTS) {
    const c = new Client(clientConfig(server.connection, `bench-${variant}`));
    await c.connect();
    await c.query(`SET search_path = ${variant}`);
    clients.set(variant, c);
  }
  const samples = new Map<Variant, { single: number[]; bulk: number[]; after: number[] }>(
    VARIANTS.map((v) => [v, { single: [], bulk: [], after: [] }]),
  );
  for (let round = 1; round <= opts.rounds; round++) {
    for (const variant of VARIANTS) {
      const c = clients.get(variant) as Client;
      const s = samples.get(variant) as { single: number[]; bulk: number[]; after: number[] };
      await truncate(admin, variant);
      s.single.push(await timed(() => singleRows(c, opts.singleRows)));
      await truncate(admin, variant);
      s.bulk.push(await timed(() => bulk(c, opts.bulkRows)));
      await truncate(admin, variant);
      await bulk(c, opts.preload);
      s.after.push(await timed(() => singleRows(c, opts.singleRows)));
    }
    log(`  write path: round ${round}/${opts.rounds} done`);
  }
  for (const c of clients.values()) await c.end();
  await admin.end();
  return VARIANTS.map((variant) => {
    const s = samples.get(variant) as { single: number[]; bulk: number[]; after: number[] };
    return {
      variant,
      singleRowMs: median(s.single),
      bulkMs: median(s.bulk),
      singleRowAfter50kMs: median(s.after),
    };
  });
}
