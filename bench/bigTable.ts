/**
 * Adding a member to peers that hold real data: 3 members with `rows` rows each (the seed's row
 * shape), then hippo-south joins (every peer's partition copied to it, its own to every peer). The
 * plan is applied by the engine-less driver (scripts/embedded/driver.ts), which runs the providers
 * `pulumi up` runs: the time is until the last initial copy is done. Beside it, on the same servers,
 * the limit: each peer's partition as `COPY (SELECT ...) TO STDOUT` piped into `COPY ... FROM STDIN`
 * of a plain table on hippo-south, all peers at once (measured before and after the add; the faster
 * counts). Also the publishers' peak retained WAL (their slots' restart_lsn behind the current
 * WAL position) while the add runs, above what they retained when it began.
 */
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { clientConfig } from '../components/providers/connection';
import { PlanDriver, configFor } from '../scripts/embedded/driver';
import { ServerSet, type TestServer, query, waitFor } from '../scripts/embedded/serverSet';
import { timed } from './stats';

export interface BigTableResult {
  rowsPerMember: number;
  addMs: number;
  limitMs: number;
  peakRetainedWalMB: number;
}

const PEERS = ['hippo-east', 'hippo-central', 'hippo-west'];
const SOUTH = 'hippo-south';
const partitionOf = (member: string): string => member.replace(/-/g, '_');

/** The seed's rows (its INSERT), `rows` of them, written on the member's own partition. */
const load = (rows: number): string => `INSERT INTO hippos (value, created_at)
  SELECT datemultirange(daterange(CURRENT_DATE + n % 1000, CURRENT_DATE + n % 1000 + (100 * random())::int),
                        daterange(CURRENT_DATE + n % 1000 + 100, CURRENT_DATE + n % 1000 + 100 + (200 * random())::int)),
         clock_timestamp()
  FROM generate_series(1, ${rows}) n`;

async function count(server: TestServer): Promise<number> {
  return Number((await query<{ n: string }>(server, 'SELECT count(*) AS n FROM hippos'))[0]?.n);
}

/** Every peer's partition copied to a plain table on the new member, all at once. */
async function copyLimit(set: ServerSet): Promise<number> {
  const south = set.get(SOUTH);
  // The columns of the federated table and the primary key of its partitions, as a peer holds them:
  // the targets keep the index a landing has (the initial copy maintains it too).
  const [shape] = await query<{ columns: string; key: string }>(
    set.get(PEERS[0] as string),
    `SELECT (SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
               FROM pg_attribute WHERE attrelid = 'hippos'::regclass AND attnum > 0 AND NOT attisdropped) AS columns,
            (SELECT pg_get_constraintdef(oid) FROM pg_constraint
              WHERE conrelid = '${partitionOf(PEERS[0] as string)}'::regclass AND contype = 'p') AS key`,
  );
  for (const peer of PEERS) {
    const t = `bench_copy_${partitionOf(peer)}`;
    await query(south, `DROP TABLE IF EXISTS ${t}`);
    await query(south, `CREATE TABLE ${t} (${shape?.columns ?? ''}, ${shape?.key ?? ''})`);
  }
  const ms = await timed(() =>
    Promise.all(
      PEERS.map(async (peer) => {
        const source = new Client(clientConfig(set.get(peer).connection));
        const target = new Client(clientConfig(south.connection));
        await Promise.all([source.connect(), target.connect()]);
        try {
          await pipeline(
            source.query(copyTo(`COPY (SELECT * FROM ${partitionOf(peer)}) TO STDOUT`)),
            target.query(copyFrom(`COPY bench_copy_${partitionOf(peer)} FROM STDIN`)),
          );
        } finally {
          await Promise.all([source.end(), target.end()]);
        }
      }),
    ),
  );
  for (const peer of PEERS) await query(south, `DROP TABLE bench_copy_${partitionOf(peer)}`);
  return ms;
}

/**
 * The most WAL any publisher's slots hold back beyond what they held when the add began (the load
 * before it leaves WAL retained until the slots next advance: that is not the add's), sampled until
 * `stop` resolves.
 */
async function peakRetainedWal(servers: TestServer[], stop: Promise<unknown>): Promise<number> {
  let done = false;
  void stop.finally(() => (done = true));
  const retained = async (s: TestServer): Promise<number> => {
    const rows = await query<{ bytes: string | null }>(
      s,
      'SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS bytes FROM pg_replication_slots',
    );
    return Number(rows[0]?.bytes ?? 0);
  };
  const baseline = await Promise.all(servers.map(retained));
  let peak = 0;
  while (!done) {
    for (const [i, s] of servers.entries()) {
      peak = Math.max(peak, (await retained(s)) - (baseline[i] ?? 0));
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return peak;
}

export async function benchBigTable(rows: number, log: (line: string) => void): Promise<BigTableResult> {
  const set = await ServerSet.start([...PEERS, SOUTH]);
  try {
    const driver = new PlanDriver(set);
    const peers = PEERS.map((n) => set.get(n));
    await driver.up(configFor(peers, { syncTimeoutSeconds: 3600 }));
    log(`big tables: ${rows} rows on each of ${PEERS.length} members ...`);
    await Promise.all(peers.map((s) => query(s, load(rows))));
    await waitFor(
      `${PEERS.length * rows} rows on every member`,
      async () => (await Promise.all(peers.map(count))).every((n) => n === PEERS.length * rows),
      30 * 60_000,
    );
    for (const s of peers) await query(s, 'CHECKPOINT');
    log('big tables: the COPY limit ...');
    const before = await copyLimit(set);
    log(`big tables: ${SOUTH} joins ...`);
    const add = driver.up(configFor([...peers, set.get(SOUTH)], { syncTimeoutSeconds: 3600 }));
    const [addMs, peak] = await Promise.all([timed(() => add), peakRetainedWal(peers, add)]);
    const all = PEERS.length * rows;
    if ((await count(set.get(SOUTH))) !== all)
      throw new Error(`${SOUTH} does not hold ${all} rows after the add`);
    const after = await copyLimit(set);
    return {
      rowsPerMember: rows,
      addMs,
      limitMs: Math.min(before, after),
      peakRetainedWalMB: peak / 2 ** 20,
    };
  } finally {
    await set.stopAll();
  }
}
