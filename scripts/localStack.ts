/**
 * The `local` stack of the main job, kept entirely under `.local/` so that running it never writes a
 * tracked file.
 *
 * `Pulumi.local.yaml` (tracked) is what a user edits: the members and any other config. The stack
 * itself lives in a workspace folder, `.local/workspace/` (scripts/workspace.ts): a project file
 * whose `main` points back at the project, and a stack file holding the tracked config plus what is
 * this machine's (the passphrase salt, the servers' password as an encrypted secret). The state
 * backend (`.local/state/`) and the passphrase (`.local/pulumi-passphrase`) are there too. Every
 * command on the local stack (`npm run local`, `local:destroy`, `local:status`,
 * `status -- --stack local`) opens it through `openLocalStack`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '@pulumi/pulumi/automation';
import { CONFIG_NAMESPACE } from '../components/config/errors';
import { LOCAL_DIR, LOCAL_STACK, localPassword, localRawConfig, localSecret } from './localServers';
import { openWorkspaceStack, writeWorkspace } from './workspace';

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
    // `npm run lint` type-checks the program; the engine only needs it transpiled (much faster).
    PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
  };
}

/**
 * The local stack, created on first use, with the tracked config. With `passwordsFor`, each listed
 * member's admin password is set as a config secret (only when it differs, so an unchanged stack
 * shows no diff).
 */
export async function openLocalStack(passwordsFor: string[] = []): Promise<Stack> {
  mkdirSync(STATE_DIR, { recursive: true });
  writeWorkspace(WORKSPACE_DIR, LOCAL_STACK, localRawConfig(), [PASSWORDS_KEY]);
  const stack = await openWorkspaceStack(WORKSPACE_DIR, LOCAL_STACK, localStackEnv());
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
