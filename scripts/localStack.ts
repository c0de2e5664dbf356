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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * What each member's config was at the last successful `npm run local` (its connection settings:
 * host, port, TLS), kept in `.local/` so the next run can tell which members connect differently
 * now (TLS switched, a basePort set). A refresh reads every resource through the connection its
 * state recorded, which such a member no longer accepts; those members are moved by an `up` first.
 */
const DEPLOYED_FILE = 'deployed-members.json';

type MemberRecord = Record<string, unknown> & { name?: unknown };

function membersOf(raw: Record<string, unknown>): MemberRecord[] {
  const members = raw[`${CONFIG_NAMESPACE}:members`];
  return Array.isArray(members) ? (members as MemberRecord[]) : [];
}

export function recordDeployedMembers(raw: Record<string, unknown>): void {
  writeFileSync(path.join(LOCAL_DIR, DEPLOYED_FILE), JSON.stringify(membersOf(raw)), { mode: 0o600 });
}

/** The members, deployed before and still configured, whose config differs from their last deployed one. */
export function membersChangedSinceDeploy(raw: Record<string, unknown>): string[] {
  const file = path.join(LOCAL_DIR, DEPLOYED_FILE);
  if (!existsSync(file)) return [];
  let deployed: MemberRecord[];
  try {
    deployed = JSON.parse(readFileSync(file, 'utf8')) as MemberRecord[];
  } catch {
    return [];
  }
  const byName = new Map(deployed.map((m) => [String(m.name), JSON.stringify(m)]));
  return membersOf(raw)
    .filter((m) => byName.has(String(m.name)) && byName.get(String(m.name)) !== JSON.stringify(m))
    .map((m) => String(m.name));
}
