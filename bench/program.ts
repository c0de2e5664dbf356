/** Time to evaluate the Pulumi program under mocks, for meshes whose resource count grows as N². */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseFederationConfig } from '../components/config';
import { Federation } from '../components/federation';
import { installMocks, registered } from '../tests/support/mocks';
import { median, timed } from './stats';

export interface ProgramResult {
  members: number;
  resources: number;
  evaluateMs: number;
}

export async function benchProgram(members: number, rounds: number): Promise<ProgramResult> {
  const config = parseFederationConfig({
    members: Array.from({ length: members }, (_, i) => ({ name: `hippo-${i + 1}` })),
    maxMembers: Math.max(10, members),
  });
  const times: number[] = [];
  let resources = 0;
  // The program writes each PGO member's CA file (components/servers/pgo.ts): into a folder of this
  // run's, removed afterwards, so the benchmark leaves nothing under the OS temp dir.
  const caDir = mkdtempSync(path.join(tmpdir(), 'pg-federation-bench-ca-'));
  const previous = process.env.PG_FEDERATION_CA_DIR;
  process.env.PG_FEDERATION_CA_DIR = caDir;
  try {
    for (let round = 0; round < rounds; round++) {
      const recorded = installMocks();
      times.push(
        await timed(async () => {
          const federation = new Federation('federation', { config, passwords: {} });
          await registered([
            ...federation.subscriptions.values(),
            ...federation.landings.values(),
            ...[...federation.nodes.values()].flatMap((n) => [
              ...n.tables.values(),
              n.publication,
              ...n.grants.values(),
              ...n.ownPartitions.values(),
            ]),
          ]);
        }),
      );
      resources = recorded.length;
    }
  } finally {
    if (previous === undefined) delete process.env.PG_FEDERATION_CA_DIR;
    else process.env.PG_FEDERATION_CA_DIR = previous;
    rmSync(caDir, { recursive: true, force: true });
  }
  return { members, resources, evaluateMs: median(times) };
}
