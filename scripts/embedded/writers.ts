/**
 * Writers that insert into a federated table on members while something happens to them, and keep
 * the id of every row whose commit was acknowledged: what "nothing lost" is measured against. A
 * writer whose server goes away (a crash, a failover) reconnects and goes on; an INSERT in flight
 * then has an unknown outcome and is not counted as acknowledged.
 */
import { Client } from 'pg';
import { clientConfig } from '../../components/providers/connection';
import type { TestServer } from './serverSet';
import { workloadSql } from './workloadSql';

export interface Writers {
  /**
   * Stop every writer; the acknowledged ids by member, the errors each met, and of those the
   * INSERTs in flight when their connection failed (committed or not: nobody knows).
   */
  stop(): Promise<{
    acked: Map<string, string[]>;
    errors: Map<string, number>;
    inFlight: Map<string, number>;
  }>;
  /** Acknowledged rows so far, all members together. */
  count(): number;
}

/** A failure of the connection, not of the statement: the INSERT's outcome is unknown. */
function lostConnection(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57P)/.test(code);
}

export function startWriters(servers: TestServer[], table = 'hippos', pauseMs = 20): Writers {
  let running = true;
  const acked = new Map(servers.map((s) => [s.name, [] as string[]]));
  const errors = new Map(servers.map((s) => [s.name, 0]));
  const inFlight = new Map(servers.map((s) => [s.name, 0]));
  const loops = servers.map(async (s) => {
    let client: Client | undefined;
    while (running) {
      let sent = false;
      try {
        if (client === undefined) {
          client = new Client(clientConfig(s.connection, 'pg-federation-writer'));
          client.on('error', () => undefined);
          await client.connect();
        }
        sent = true;
        const res = await client.query<{ id: string }>(workloadSql.insertOne(table));
        const id = res.rows[0]?.id;
        if (id !== undefined) acked.get(s.name)?.push(id);
      } catch (err) {
        errors.set(s.name, (errors.get(s.name) ?? 0) + 1);
        if (sent && lostConnection(err)) inFlight.set(s.name, (inFlight.get(s.name) ?? 0) + 1);
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    await client?.end().catch(() => undefined);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { acked, errors, inFlight };
    },
    count: () => [...acked.values()].reduce((n, ids) => n + ids.length, 0),
  };
}
