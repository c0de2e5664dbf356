/**
 * The real engine at scale (Automation API, file backend, embedded servers as external members): a
 * `pulumi up` of N members from nothing, a preview that changes nothing, then the preview and the
 * `up` that add member N+1; the checkpoint's bytes per resource, and the engine's floor measured in
 * the same run: a program of as many no-op dynamic resources (bench/floor), up and previewed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Stack } from '@pulumi/pulumi/automation';
import { ServerSet, SERVER_PASSWORD, type TestServer } from '../scripts/embedded/serverSet';
import { exportStack, openWorkspaceStack, throwawayStackEnv, writeWorkspace } from '../scripts/workspace';
import { timed } from './stats';

/** A stack in a folder of its own (file backend, passphrase secrets), removed with `remove`. */
class BenchStack {
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly env: Record<string, string>,
    readonly stack: Stack,
    private readonly program?: string,
  ) {}

  static async create(name: string, config: Record<string, unknown>, program?: string): Promise<BenchStack> {
    const dir = mkdtempSync(path.join(tmpdir(), `pg-federation-bench-${name}-`));
    const env = throwawayStackEnv(dir);
    mkdirSync(path.join(dir, 'state'));
    const workspace = path.join(dir, 'workspace');
    writeWorkspace(workspace, name, config, [], program);
    return new BenchStack(name, workspace, env, await openWorkspaceStack(workspace, name, env), program);
  }

  setConfig(config: Record<string, unknown>): void {
    writeWorkspace(this.dir, this.name, config, ['pg-federation:passwords'], this.program);
  }

  async setSecret(key: string, value: string): Promise<void> {
    await this.stack.setConfig(key, { value, secret: true }, true);
  }

  exportText(): string {
    return exportStack(this.dir, this.name, this.env);
  }

  async remove(): Promise<void> {
    await this.stack.workspace.removeStack(this.name, { force: true }).catch(() => undefined);
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}

/** The operations other than `same` in an engine change summary, e.g. `{ create: 22 }`. */
function changes(summary: Record<string, number | undefined> | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(summary ?? {}).filter((e): e is [string, number] => e[0] !== 'same' && (e[1] ?? 0) > 0),
  );
}

function externalMember(server: TestServer): Record<string, unknown> {
  return { name: server.name, kind: 'external', host: '127.0.0.1', port: server.port, sslmode: 'disable' };
}

export interface EngineResult {
  members: number;
  resources: number;
  upMs: number;
  previewMs: number;
  previewChanges: Record<string, number>;
  addPreviewMs: number;
  addUpMs: number;
  addChanges: Record<string, number>;
  checkpointBytes: number;
  /** `__provider` characters per dynamic resource in the checkpoint (inputs and outputs). */
  providerCharsPerDynamic: number;
  floor: { resources: number; upMs: number; previewMs: number; checkpointBytes: number };
}

export interface StateSize {
  resources: number;
  bytes: number;
  providerCharsPerDynamic: number;
}

/** The checkpoint as `pulumi stack export` prints it (secrets encrypted), per resource. */
export function stateSize(stack: BenchStack): StateSize {
  const text = stack.exportText();
  const state = JSON.parse(text) as {
    deployment: {
      resources?: Array<{
        type: string;
        inputs?: Record<string, unknown>;
        outputs?: Record<string, unknown>;
      }>;
    };
  };
  const resources = state.deployment.resources ?? [];
  const dynamic = resources.filter((r) => r.type.startsWith('pulumi-nodejs:dynamic'));
  const chars = (v: unknown): number => (typeof v === 'string' ? v.length : 0);
  const providerChars = dynamic.reduce(
    (sum, r) => sum + chars(r.inputs?.__provider) + chars(r.outputs?.__provider),
    0,
  );
  return {
    resources: resources.length,
    bytes: Buffer.byteLength(text),
    providerCharsPerDynamic: dynamic.length === 0 ? 0 : providerChars / dynamic.length,
  };
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `hippo-${i + 1}`);

/** Up, no-change preview and the add of one more member, for `members` members. */
export async function benchEngine(members: number, log: (line: string) => void): Promise<EngineResult> {
  // Servers sized for the mesh they end in, as an operator sizes them for maxMembers.
  const set = await ServerSet.start(names(members + 1), { capacity: Math.max(10, members + 1) });
  const config = (n: number) => ({
    'pg-federation:members': names(n).map((name) => externalMember(set.get(name))),
    'pg-federation:maxMembers': Math.max(10, n),
  });
  let stack: BenchStack | undefined;
  try {
    stack = await BenchStack.create(`bench-${members}`, config(members));
    for (const name of names(members + 1)) await stack.setSecret(`passwords["${name}"]`, SERVER_PASSWORD);
    const e = stack;
    log(`engine: up of ${members} members ...`);
    let up: Awaited<ReturnType<typeof e.stack.up>> | undefined;
    const upMs = await timed(async () => (up = await e.stack.up()));
    const size = stateSize(e);
    log(`engine: preview of ${members} members, nothing changed ...`);
    let preview: Awaited<ReturnType<typeof e.stack.preview>> | undefined;
    const previewMs = await timed(async () => (preview = await e.stack.preview()));
    e.setConfig(config(members + 1));
    log(`engine: preview and up that add member ${members + 1} ...`);
    const addPreviewMs = await timed(() => e.stack.preview());
    let add: Awaited<ReturnType<typeof e.stack.up>> | undefined;
    const addUpMs = await timed(async () => (add = await e.stack.up()));

    log(`engine: the floor, ${size.resources} no-op dynamic resources ...`);
    const floor = await benchFloor(size.resources);
    return {
      members,
      resources: up?.summary.resourceChanges?.create ?? 0,
      upMs,
      previewMs,
      previewChanges: changes(preview?.changeSummary),
      addPreviewMs,
      addUpMs,
      addChanges: changes(add?.summary.resourceChanges),
      checkpointBytes: size.bytes / size.resources,
      providerCharsPerDynamic: size.providerCharsPerDynamic,
      floor,
    };
  } finally {
    await stack?.remove();
    await set.stopAll();
  }
}

/** `up` and a no-change `preview` of `count` no-op dynamic resources (bench/floor). */
export async function benchFloor(count: number): Promise<EngineResult['floor']> {
  const floor = await BenchStack.create(
    `floor-${count}`,
    { 'pg-federation-floor:count': count },
    path.join(__dirname, 'floor'),
  );
  try {
    const upMs = await timed(() => floor.stack.up());
    const previewMs = await timed(() => floor.stack.preview());
    const size = stateSize(floor);
    return { resources: size.resources, upMs, previewMs, checkpointBytes: size.bytes / size.resources };
  } finally {
    await floor.remove();
  }
}

/** The checkpoint of an `up` of `members` members, per resource (no timing). */
export async function benchState(members: number): Promise<StateSize & { members: number }> {
  const set = await ServerSet.start(names(members));
  let stack: BenchStack | undefined;
  try {
    stack = await BenchStack.create(`bench-state-${members}`, {
      'pg-federation:members': names(members).map((name) => externalMember(set.get(name))),
    });
    for (const name of names(members)) await stack.setSecret(`passwords["${name}"]`, SERVER_PASSWORD);
    await stack.stack.up();
    return { members, ...stateSize(stack) };
  } finally {
    await stack?.remove();
    await set.stopAll();
  }
}
