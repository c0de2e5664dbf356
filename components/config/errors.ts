/**
 * How config problems are worded: each names its key (`pg-federation:members[2].name`) and the fix,
 * and all of them are thrown at once as one `ConfigError`, which Pulumi prints without a stack trace.
 */
import * as pulumi from '@pulumi/pulumi';
import type { z } from 'zod';

export const CONFIG_NAMESPACE = 'pg-federation';

/** A config error that names the key and the fix; Pulumi prints it without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(public readonly problems: string[]) {
    super(`invalid stack config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** `pg-federation:members[2].name` from a zod path under a prefix. */
export function keyPath(path: PropertyKey[], prefix = ''): string {
  const key = path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i === 0 && prefix === '' ? '' : '.'}${String(part)}`,
    )
    .join('');
  const full = `${prefix}${key}`;
  return full === '' ? CONFIG_NAMESPACE : `${CONFIG_NAMESPACE}:${full}`;
}

/** zod's issues as our sentences. */
export function zodProblems(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const where = keyPath(issue.path, prefix);
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown key(s) ${issue.keys.join(', ')}; check the spelling against the config reference in README.md`;
    }
    return `${where}: ${issue.message}`;
  });
}

/** A key of the namespace this program does not read (a typo must not be ignored). */
export function unknownKeyProblem(key: string): string {
  return `${CONFIG_NAMESPACE}:${key}: unknown key; check the spelling against the config reference in README.md`;
}
