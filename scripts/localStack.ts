/**
 * The `local` stack of the main job, kept entirely under `.local/` so that running it never writes a
 * tracked file.
 *
 * `Pulumi.local.yaml` (tracked) is what a user edits: the members and any other config. The stack
 * itself lives in a workspace folder `.local/workspace/`: a copy of `Pulumi.yaml` whose `main` points
 * back at the project, and a stack file that holds the tracked config plus what is specific to this
 * machine (the passphrase salt and the servers' password as an encrypted secret). The state backend
 * (`.local/state/`) and the passphrase (`.local/pulumi-passphrase`) are there too. Every command that
 * touches the local stack (`npm run local`, `local:destroy`, `local:status`, `status -- --stack local`)
 * opens it through `openLocalStack`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalWorkspace, type Stack } from '@pulumi/pulumi/automation';
import { dump, load } from 'js-yaml';
import { CONFIG_NAMESPACE } from '../components/config';
import { LOCAL_DIR, LOCAL_STACK, PROJECT_ROOT, localPassword, localSecret } from './localServers';

export const WORKSPACE_DIR = path.join(LOCAL_DIR, 'workspace');
export const STATE_DIR = path.join(LOCAL_DIR, 'state');
const PASSPHRASE_FILE = 'pulumi-passphrase';
const PASSWORDS_KEY = `${CONFIG_NAMESPACE}:passwords`;

/** The environment every Pulumi command on the local stack runs with: no cloud account, no downloads. */
export function localStackEnv(): Record<string, string> {
  localSecret(PASSPHRASE_FILE); // generated once, before the stack's secrets provider needs it
  return {
    PULUMI_BACKEND_URL: `file://${STATE_DIR}`,
    PULUMI_CONFIG_PASSPHRASE_FILE: path.join(LOCAL_DIR, PASSPHRASE_FILE),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
  };
}

interface StackFile {
  encryptionsalt?: string;
  secretsprovider?: string;
  config?: Record<string, unknown>;
}

function readYaml<T>(file: string): T | undefined {
  return existsSync(file) ? (load(readFileSync(file, 'utf8')) as T) : undefined;
}

/**
 * Write the workspace: the project file (main → the project root) and the stack file, whose config
 * is the tracked Pulumi.local.yaml's, plus the salt and the encrypted passwords kept from before.
 */
function writeWorkspace(): void {
  mkdirSync(WORKSPACE_DIR, { recursive: true });
  const project = readYaml<Record<string, unknown>>(path.join(PROJECT_ROOT, 'Pulumi.yaml')) ?? {};
  const main = path.relative(WORKSPACE_DIR, PROJECT_ROOT);
  writeFileSync(path.join(WORKSPACE_DIR, 'Pulumi.yaml'), dump({ ...project, main }));

  const tracked = readYaml<StackFile>(path.join(PROJECT_ROOT, `Pulumi.${LOCAL_STACK}.yaml`)) ?? {};
  const stackFile = path.join(WORKSPACE_DIR, `Pulumi.${LOCAL_STACK}.yaml`);
  const kept = readYaml<StackFile>(stackFile) ?? {};
  // The tracked file's config, but the passwords: those are this machine's, kept from before.
  const config: Record<string, unknown> = Object.fromEntries(
    Object.entries(tracked.config ?? {}).filter(([key]) => key !== PASSWORDS_KEY),
  );
  if (kept.config?.[PASSWORDS_KEY] !== undefined) config[PASSWORDS_KEY] = kept.config[PASSWORDS_KEY];
  const merged: StackFile = {
    ...(kept.secretsprovider !== undefined ? { secretsprovider: kept.secretsprovider } : {}),
    ...(kept.encryptionsalt !== undefined ? { encryptionsalt: kept.encryptionsalt } : {}),
    config,
  };
  writeFileSync(stackFile, dump(merged));
}

/**
 * The local stack, created on first use. With `passwordsFor`, each listed member's admin password
 * is set as a config secret (only when it differs, so an unchanged stack shows no diff).
 */
export async function openLocalStack(passwordsFor: string[] = []): Promise<Stack> {
  mkdirSync(STATE_DIR, { recursive: true });
  writeWorkspace();
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: LOCAL_STACK, workDir: WORKSPACE_DIR },
    { envVars: localStackEnv(), secretsProvider: 'passphrase' },
  );
  if (passwordsFor.length > 0) {
    const current = (await stack.getAllConfig())[PASSWORDS_KEY]?.value;
    const have = current !== undefined ? (JSON.parse(current) as Record<string, string>) : {};
    const password = localPassword();
    for (const member of passwordsFor) {
      if (have[member] === password) continue;
      await stack.setConfig(`passwords["${member}"]`, { value: password, secret: true }, true);
    }
  }
  return stack;
}

/** Whether the local stack has been created (its state exists under `.local/state`). */
export function localStackExists(): boolean {
  return existsSync(path.join(STATE_DIR, '.pulumi', 'stacks'));
}
