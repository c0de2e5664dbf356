/** Time to evaluate the Pulumi program under mocks, for meshes whose resource count grows as N². */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { Federation } from '../components/federation';
import { parseFederationConfig } from '../components/stackConfig';
import { median, timed } from './stats';

export interface ProgramResult {
  members: number;
  resources: number;
  evaluateMs: number;
}

/** Mocks that answer every registration as the engine would for a create, and count them. */
function installMocks(): { count: number } {
  const counter = { count: 0 };
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        counter.count++;
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === 'random:index/randomPassword:RandomPassword') state.result = `pw-${args.name}`;
        if (args.type === 'random:index/randomBytes:RandomBytes') state.base64 = 'AAAAAAAAAAAAAAAAAAAAAA==';
        if (args.type === 'kubernetes:core/v1:Secret') state.data = { 'root.crt': 'Q0E=' };
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    'pg-federation',
    'bench',
    false,
  );
  return counter;
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
      const counter = installMocks();
      times.push(
        await timed(async () => {
          const federation = new Federation('federation', { config, passwords: {} });
          await Promise.all(
            federation.resources().map((r) => new Promise((resolve) => r.urn.apply(resolve))),
          );
        }),
      );
      resources = counter.count;
    }
  } finally {
    if (previous === undefined) delete process.env.PG_FEDERATION_CA_DIR;
    else process.env.PG_FEDERATION_CA_DIR = previous;
    rmSync(caDir, { recursive: true, force: true });
  }
  return { members, resources, evaluateMs: median(times) };
}
