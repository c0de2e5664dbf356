/**
 * Stacks for the end-to-end tests, run by the real Pulumi engine through the Automation API: a file
 * state backend and a passphrase secrets provider in a fresh temporary folder, the stack's files in
 * a workspace there (scripts/workspace.ts), so no test writes a file of the repository.
 *
 * Where the CLI is missing the tests skip, saying why; under .ci/run, which provides it, they fail.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Stack } from '@pulumi/pulumi/automation';
import { pulumiOnPath } from '../../scripts/pulumiCli';
import { exportStack, openWorkspaceStack, throwawayStackEnv, writeWorkspace } from '../../scripts/workspace';
import { recordOutput } from './secretScan';
import { GENERATED_SECRETS } from './secrets';

/**
 * Skip a suite whose tool is missing, saying why, or fail it where nothing may be skipped: .ci/run
 * sets PG_FEDERATION_NO_SKIP=1, since it provides every tool.
 */
export function requireTool(ctx: Mocha.Context, present: boolean, why: string): void {
  if (present) return;
  if (process.env.PG_FEDERATION_NO_SKIP === '1') {
    throw new Error(`${why}, and PG_FEDERATION_NO_SKIP=1 forbids skipping`);
  }
  console.log(`    skipped: ${why}`);
  ctx.skip();
}

/** The Pulumi CLI, for the end-to-end suites. */
export function requireEngine(ctx: Mocha.Context): void {
  requireTool(
    ctx,
    pulumiOnPath(),
    'the Pulumi CLI is not on PATH (install it; .ci/run builds one), so the engine cannot run',
  );
}

interface WatchedOptions {
  onOutput?: (out: string) => void;
  [key: string]: unknown;
}

/** A state value as `stack export --show-secrets` prints it: plain, or a decrypted secret. */
export function plaintext(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'plaintext' in value) {
    const text = (value as { plaintext: unknown }).plaintext;
    return typeof text === 'string' ? (JSON.parse(text) as string) : undefined;
  }
  return undefined;
}

export interface ChangeSummary {
  [op: string]: number | undefined;
}

/** The operations other than `same` in an engine change summary, e.g. `{ create: 22 }`. */
export function changes(summary: ChangeSummary | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(summary ?? {}).filter((e): e is [string, number] => e[0] !== 'same' && (e[1] ?? 0) > 0),
  );
}

export class EngineStack {
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly env: Record<string, string>,
    readonly stack: Stack,
    private config: Record<string, unknown>,
    private program?: string,
    /** The folder of the stack's state (and its workspace, unless it runs a program of its own). */
    private readonly home = path.dirname(dir),
  ) {}

  /**
   * A new stack named `name` with this stack config (`pg-federation:*` keys, YAML values), of this
   * repository's program, or of `program`: a project folder of its own (with its node_modules), which
   * is then the stack's workspace too, as when a user runs pulumi in their project.
   */
  static async create(
    name: string,
    config: Record<string, unknown>,
    extraEnv: Record<string, string> = {},
    program?: string,
  ): Promise<EngineStack> {
    const dir = mkdtempSync(path.join(tmpdir(), `pg-federation-e2e-${name}-`));
    const env = {
      ...throwawayStackEnv(dir),
      // CA files the program writes for PGO members go here, and go with the folder.
      PG_FEDERATION_CA_DIR: path.join(dir, 'ca'),
      ...extraEnv,
    };
    mkdirSync(path.join(dir, 'state'));
    const workspace = program ?? path.join(dir, 'workspace');
    writeWorkspace(workspace, name, config, [], program);
    const stack = await openWorkspaceStack(workspace, name, env);
    const engine = new EngineStack(name, workspace, env, stack, config, program, dir);
    engine.watch();
    return engine;
  }

  /**
   * Every update, preview, refresh and destroy of the stack: its output (streamed, returned, or in the
   * error) goes to the secret scan, and after each update or refresh every password the stack has
   * generated joins the passwords it looks for.
   */
  private watch(): void {
    const stack = this.stack as unknown as Record<string, (opts?: WatchedOptions) => Promise<unknown>>;
    for (const op of ['up', 'preview', 'refresh', 'destroy']) {
      const original = stack[op]?.bind(this.stack);
      if (original === undefined) throw new Error(`the Automation API has no ${op}`);
      stack[op] = async (opts: WatchedOptions = {}) => {
        const onOutput = (out: string) => {
          recordOutput(out);
          opts.onOutput?.(out);
        };
        try {
          const result = (await original({ ...opts, onOutput })) as { stdout?: string; stderr?: string };
          recordOutput(`${result.stdout ?? ''}${result.stderr ?? ''}`);
          return result;
        } catch (err) {
          recordOutput(err instanceof Error ? err.message : String(err));
          throw err;
        } finally {
          if (op === 'up' || op === 'refresh') await this.learnSecrets();
        }
      };
    }
  }

  /** The value a RandomPassword of the stack generated (a known secret; never printed). */
  async generatedPassword(name: string): Promise<string> {
    const state = JSON.parse(await this.exportText(true)) as {
      deployment: { resources?: Array<{ urn: string; outputs?: { result?: unknown } }> };
    };
    const found = state.deployment.resources?.find((r) =>
      r.urn.endsWith(`random:index/randomPassword:RandomPassword::${name}`),
    );
    const value = plaintext(found?.outputs?.result);
    if (value === undefined) throw new Error(`the stack has no generated password ${name}`);
    GENERATED_SECRETS.add(value);
    return value;
  }

  /** Every password the stack's RandomPasswords hold (admin and replication) becomes a known secret. */
  async learnSecrets(): Promise<void> {
    const state = JSON.parse(await this.exportText(true)) as {
      deployment: { resources?: Array<{ type: string; outputs?: { result?: unknown } }> };
    };
    for (const r of state.deployment.resources ?? []) {
      if (r.type !== 'random:index/randomPassword:RandomPassword') continue;
      if (r.outputs?.result === undefined) continue; // not created yet
      const result = plaintext(r.outputs.result);
      if (result === undefined)
        throw new Error('a RandomPassword result in the exported state is not readable');
      GENERATED_SECRETS.add(result);
    }
  }

  /** Replace the stack's config (keys not given are removed), keeping its secrets. */
  async setConfig(config: Record<string, unknown>): Promise<void> {
    this.config = config;
    writeWorkspace(this.dir, this.name, config, [...this.secretKeys], this.program);
  }

  /** The stack-file keys that hold secrets set by `setSecret` (kept when the config is replaced). */
  private readonly secretKeys = new Set(['pg-federation:passwords']);

  /** Run another program on this stack from now on (a checkout of an older version), or this one. */
  async useProgram(program?: string): Promise<void> {
    this.program = program;
    await this.setConfig(this.config);
  }

  /** Change some keys of the stack's config, keeping the rest. */
  async editConfig(changes: Record<string, unknown>): Promise<void> {
    await this.setConfig({ ...this.config, ...changes });
  }

  async setSecret(path: string, value: string): Promise<void> {
    const project = (await this.stack.workspace.projectSettings()).name;
    this.secretKeys.add(`${project}:${path.split(/[.[]/)[0]}`);
    await this.stack.setConfig(path, { value, secret: true }, true);
  }

  /**
   * The stack's state as the backend stores it and `pulumi stack export` prints it: secrets
   * encrypted, or with `showSecrets` in plain text (never printed: tests read values from it).
   */
  async exportText(showSecrets = false): Promise<string> {
    return exportStack(this.dir, this.name, this.env, showSecrets);
  }

  /** The stack's output `connections` (a secret): Pulumi's admin connection to each member. */
  async connections(): Promise<Record<string, { password: string }>> {
    const outputs = await this.stack.outputs();
    return (outputs.connections?.value ?? {}) as Record<string, { password: string }>;
  }

  /** Remove the stack (whatever it still holds) and its folder. */
  async remove(): Promise<void> {
    await this.stack.workspace.removeStack(this.name, { force: true }).catch(() => undefined);
    rmSync(this.home, { recursive: true, force: true });
  }
}
