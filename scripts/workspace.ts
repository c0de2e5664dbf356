/**
 * A Pulumi workspace outside the project folder: a copy of `Pulumi.yaml` whose `main` points back at
 * the project's program, and a stack file of its own. Stacks whose files must not land in the repository (the
 * local job's, the tests') live in one, so that creating them, setting their secrets or removing
 * them never writes a tracked file.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalWorkspace, type Stack } from '@pulumi/pulumi/automation';
import { dump, load } from 'js-yaml';

export const PROJECT_ROOT = path.join(__dirname, '..');

interface StackFile {
  encryptionsalt?: string;
  secretsprovider?: string;
  config?: Record<string, unknown>;
}

export function readYaml<T>(file: string): T | undefined {
  return existsSync(file) ? (load(readFileSync(file, 'utf8')) as T) : undefined;
}

/** The config of a stack file in the project (e.g. the tracked Pulumi.local.yaml). */
export function projectStackConfig(stack: string): Record<string, unknown> {
  return readYaml<StackFile>(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`))?.config ?? {};
}

/**
 * Write the workspace: the project file (of the program in `program`, by default this one), and the
 * stack file with `config` plus what only this workspace holds (the passphrase salt and the keys
 * named in `keep`, e.g. encrypted passwords).
 */
export function writeWorkspace(
  dir: string,
  stack: string,
  config: Record<string, unknown>,
  keep: string[],
  program = PROJECT_ROOT,
): void {
  mkdirSync(dir, { recursive: true });
  const project = readYaml<Record<string, unknown>>(path.join(program, 'Pulumi.yaml')) ?? {};
  // The project's own `main` (a file, or its folder's package.json `main` when it names none).
  const main = path.join(program, typeof project.main === 'string' ? project.main : '.');
  writeFileSync(path.join(dir, 'Pulumi.yaml'), dump({ ...project, main: path.relative(dir, main) }));
  const stackFile = path.join(dir, `Pulumi.${stack}.yaml`);
  const before = readYaml<StackFile>(stackFile) ?? {};
  const merged: Record<string, unknown> = Object.fromEntries(
    Object.entries(config).filter(([key]) => !keep.includes(key)),
  );
  for (const key of keep) if (before.config?.[key] !== undefined) merged[key] = before.config[key];
  writeFileSync(
    stackFile,
    dump({
      ...(before.secretsprovider !== undefined ? { secretsprovider: before.secretsprovider } : {}),
      ...(before.encryptionsalt !== undefined ? { encryptionsalt: before.encryptionsalt } : {}),
      config: merged,
    }),
  );
}

/** Create or select the stack in a workspace written by `writeWorkspace`, with a passphrase secrets provider. */
export function openWorkspaceStack(dir: string, stack: string, env: Record<string, string>): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName: stack, workDir: dir },
    { envVars: env, secretsProvider: 'passphrase' },
  );
}

/**
 * The environment of a throwaway stack (the tests', the bench's): its file backend under `dir`, a
 * random passphrase, no update check or plugin download, the program transpiled only (it is
 * type-checked by `npm run lint`).
 */
export function throwawayStackEnv(dir: string): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: `file://${path.join(dir, 'state')}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(12).toString('hex'),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
  };
}

/**
 * A stack's state as the backend stores it and `pulumi stack export` prints it: secrets encrypted,
 * or with `showSecrets` in plain text (never print it).
 */
export function exportStack(
  dir: string,
  stack: string,
  env: Record<string, string>,
  showSecrets = false,
): string {
  const args = ['stack', 'export', '--stack', stack, ...(showSecrets ? ['--show-secrets'] : [])];
  const run = spawnSync('pulumi', args, {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  if (run.status !== 0) {
    throw new Error(
      `pulumi stack export failed (${run.error?.message ?? `exit ${String(run.status)}`}): ${run.stderr}`,
    );
  }
  return run.stdout;
}
