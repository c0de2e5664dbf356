/**
 * Propagation through a live mesh: how long a row written on one member takes to be visible on the
 * first other member and on all of them, one row at a time and 100,000 rows at once.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { clientConfig } from '../components/providers/connection';
import { ServerSet, type TestServer, query } from '../scripts/embedded/serverSet';
import { PlanDriver, configFor } from '../scripts/embedded/driver';
import { median, percentile } from './stats';

export interface PropagationResult {
  postgres: number;
  members: number;
  rowToFirstP50Ms: number;
  rowToAllP50Ms: number;
  rowToAllP99Ms: number;
  bulkToFirstMs: number;
  bulkToAllMs: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`propagation did not finish within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Poll each client until `probe` holds there; resolve with each arrival time (ms after `start`). */
async function arrivals(
  clients: Client[],
  start: number,
  probe: (c: Client) => Promise<boolean>,
): Promise<number[]> {
  return Promise.all(
    clients.map(async (c) => {
      const deadline = start + 120_000;
      while (!(await probe(c))) {
        if (now() > deadline) throw new Error('propagation did not finish within 120 s');
      }
      return now() - start;
    }),
  );
}

export async function benchPropagation(
  members: number,
  opts: { samples: number; bulkRows: number; major: number },
  log: (line: string) => void,
): Promise<PropagationResult> {
  const names = Array.from({ length: members }, (_, i) => `hippo-${i + 1}`);
  const set = await ServerSet.start(names, { major: opts.major });
  try {
    const servers = names.map((n) => set.get(n));
    await new PlanDriver(set).up(configFor(servers));
    const [writerServer, ...readerServers] = servers as [TestServer, ...TestServer[]];
    const writer = new Client(clientConfig(writerServer.connection, 'bench-writer'));
    await writer.connect();
    const readers = await Promise.all(
      readerServers.map(async (s) => {
        const c = new Client(clientConfig(s.connection, 'bench-reader'));
        await c.connect();
        return c;
      }),
    );
    // A row's arrival is told, not polled: polling 7 readers in a loop took the CPU from the very
    // walsenders and apply workers it timed (on 2 cores all/first grew with N from that alone). A
    // trigger on each reader's copy of the writer's partition, enabled ALWAYS so that it fires in the
    // apply worker, sends a NOTIFY that is delivered when the applied transaction commits.
    const landing = writerServer.name.replace(/-/g, '_');
    const waiting = new Map<string, Array<(at: number) => void>>();
    for (const [i, c] of readers.entries()) {
      const server = readerServers[i] as TestServer;
      await query(
        server,
        `CREATE OR REPLACE FUNCTION bench_arrival() RETURNS trigger LANGUAGE plpgsql AS
           $$BEGIN PERFORM pg_notify('bench_arrival', NEW.id::text); RETURN NULL; END$$`,
      );
      await query(
        server,
        `CREATE TRIGGER bench_arrival AFTER INSERT ON ${landing} FOR EACH ROW EXECUTE FUNCTION bench_arrival()`,
      );
      await query(server, `ALTER TABLE ${landing} ENABLE ALWAYS TRIGGER bench_arrival`);
      c.on('notification', (msg) => waiting.get(msg.payload ?? '')?.shift()?.(now()));
      await c.query('LISTEN bench_arrival');
    }
    const first: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const id = randomUUID();
      const arrived = readers.map(
        () => new Promise<number>((resolve) => waiting.set(id, [...(waiting.get(id) ?? []), resolve])),
      );
      const start = now();
      await writer.query(`INSERT INTO hippos (id, value, created_at) VALUES ($1, NULL, clock_timestamp())`, [
        id,
      ]);
      const times = (await withTimeout(Promise.all(arrived), 120_000)).map((at) => at - start);
      waiting.delete(id);
      first.push(Math.min(...times));
      all.push(Math.max(...times));
    }
    const [{ n: before } = { n: '0' }] = (
      await writer.query<{ n: string }>('SELECT count(*) AS n FROM hippos')
    ).rows;
    const target = Number(before) + opts.bulkRows;
    const start = now();
    await writer.query(
      `INSERT INTO hippos (value, created_at) SELECT NULL, clock_timestamp() FROM generate_series(1, ${opts.bulkRows})`,
    );
    const bulkTimes = await arrivals(readers, start, async (c) => {
      const [row] = (await c.query<{ n: string }>('SELECT count(*) AS n FROM hippos')).rows;
      if (Number(row?.n) >= target) return true;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return false;
    });
    await writer.end();
    for (const c of readers) await c.end();
    log(`  propagation: ${members} members on PostgreSQL ${opts.major} done`);
    return {
      postgres: opts.major,
      members,
      rowToFirstP50Ms: median(first),
      rowToAllP50Ms: median(all),
      rowToAllP99Ms: percentile(all, 99),
      bulkToFirstMs: Math.min(...bulkTimes),
      bulkToAllMs: Math.max(...bulkTimes),
    };
  } finally {
    await set.stopAll();
  }
}
