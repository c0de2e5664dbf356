/**
 * Time to evaluate the Pulumi program under mocks, for meshes whose resource count grows as N², beside
 * the SDK's own floor measured in the same run: as many bare custom resources, registered through
 * the same mocks, under the same ts-node the language host runs programs with. Also the provider text
 * each dynamic resource carries (its `__provider` input, which the state holds in inputs and outputs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { Federation } from '../components/federation';
import { skipMappingPromiseStacks } from '../components/providers/promiseStacks';
import { parseFederationConfig } from '../components/stackConfig';
import { readYaml } from '../scripts/workspace';
import { median, timed } from './stats';

export interface ProgramResult {
  members: number;
  resources: number;
  dynamicResources: number;
  evaluateMs: number;
  /** The same number of bare custom resources, registered by one component. */
  floorMs: number;
  /** The longest `__provider` text of a dynamic resource, in characters. */
  providerChars: number;
}

interface Counter {
  count: number;
  dynamic: number;
  providerChars: number;
}

/** Mocks that answer every registration as the engine would for a create, and count them. */
function installMocks(): Counter {
  const counter: Counter = { count: 0, dynamic: 0, providerChars: 0 };
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        counter.count++;
        const provider: unknown = args.inputs.__provider;
        if (typeof provider === 'string') {
          counter.dynamic++;
          counter.providerChars = Math.max(counter.providerChars, provider.length);
        }
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
    'organization',
  );
  return counter;
}

class Noop extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super('bench:index:Noop', name, props, opts);
  }
}

class Floor extends pulumi.ComponentResource {
  readonly children: pulumi.CustomResource[];
  constructor(count: number) {
    super('bench:index:Floor', 'floor');
    this.children = Array.from(
      { length: count },
      (_, i) => new Noop(`noop-${i}`, { index: i, member: `hippo-${i}` }, { parent: this }),
    );
    this.registerOutputs({});
  }
}

async function settled(resources: pulumi.Resource[]): Promise<void> {
  await Promise.all(resources.map((r) => new Promise((resolve) => r.urn.apply(resolve))));
}

/** The node arguments Pulumi.yaml gives the program (`runtime.options.nodeargs`). */
export function programNodeArgs(): string[] {
  const project = readYaml<{ runtime?: { options?: { nodeargs?: string } } }>(
    path.join(__dirname, '..', 'Pulumi.yaml'),
  );
  return (project?.runtime?.options?.nodeargs ?? '').split(/\s+/).filter((a) => a !== '');
}

export async function benchProgram(members: number, rounds: number): Promise<ProgramResult> {
  // The program is timed in this process: it must run with the arguments Pulumi runs it with.
  const missing = programNodeArgs().filter((a) => !process.execArgv.includes(a));
  if (missing.length > 0) {
    throw new Error(
      `the benchmark's node lacks ${missing.join(' ')} (Pulumi.yaml's nodeargs): run it as \`npm run bench\``,
    );
  }
  const config = parseFederationConfig({
    members: Array.from({ length: members }, (_, i) => ({ name: `hippo-${i + 1}` })),
    maxMembers: Math.max(10, members),
  });
  const times: number[] = [];
  const floors: number[] = [];
  let counted: Counter = { count: 0, dynamic: 0, providerChars: 0 };
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
          await settled(federation.resources());
        }),
      );
      counted = counter;
      installMocks();
      // With the stack formatting the Federation installs (components/providers/promiseStacks.ts),
      // as in its own rows: without it, the SDK maps every promise's stack and the floor is about
      // four times as slow (4.1 s at 30 members on 2026-12-07, beside 3.2 s for the federation).
      skipMappingPromiseStacks();
      // As many resources as the federation registered (its component included).
      floors.push(await timed(() => settled(new Floor(counter.count - 1).children)));
    }
  } finally {
    if (previous === undefined) delete process.env.PG_FEDERATION_CA_DIR;
    else process.env.PG_FEDERATION_CA_DIR = previous;
    rmSync(caDir, { recursive: true, force: true });
  }
  return {
    members,
    resources: counted.count,
    dynamicResources: counted.dynamic,
    evaluateMs: median(times),
    floorMs: median(floors),
    providerChars: counted.providerChars,
  };
}
