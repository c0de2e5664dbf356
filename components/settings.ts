/**
 * The federation's settings as a program passes them to `new Federation(...)`: the keys of stack
 * config's `pg-federation:` namespace, typed, parsed by the same schema and checked with the same
 * all-at-once messages as stack config (each names the key and the fix).
 */
import type * as pulumi from '@pulumi/pulumi';
import type { z } from 'zod';
import { CONFIG_NAMESPACE, ConfigError, unknownKeyProblem } from './config/errors';
import { parseConfigWith } from './config/parse';
import { CONFIG_KEYS, type RawConfig, type commonMemberFields } from './config/schema';
import type { tableSpecSchema } from './config/tables';
import type { FederationConfig as GenericFederationConfig } from './config/types';
import { KIND_REGISTRY, type MemberConfig, type externalFields, type pgoFields } from './servers';

export type { MemberConfig } from './servers';
/** Settings parsed, defaulted and validated: what the plan is computed from. */
export type FederationConfig = GenericFederationConfig<MemberConfig>;

/** Parse, default and validate raw settings (keys without the namespace). Throws `ConfigError`. */
export function parseFederationConfig(raw: Record<string, unknown>): FederationConfig {
  return parseConfigWith<MemberConfig>(raw, KIND_REGISTRY);
}

type CommonMemberInput = z.input<z.ZodObject<typeof commonMemberFields>>;

/** A PGO member: a Crunchy PGO v5 PostgresCluster this program declares (the default kind). */
export type PgoMemberSettings = CommonMemberInput & z.input<typeof pgoFields> & { kind?: 'pgo' };
/** An external member: a PostgreSQL server someone else runs; Pulumi connects to its `host`. */
export type ExternalMemberSettings = CommonMemberInput &
  z.input<typeof externalFields> & { kind: 'external' };
export type MemberSettingsInput = PgoMemberSettings | ExternalMemberSettings;
/** A federated table, as stack config's `tables` lists it. */
export type TableSettings = z.input<typeof tableSpecSchema>;

/** Every stack-config key, as typed values: `members` (required), `tables`, `maxMembers`, … */
export type FederationSettings = Omit<RawConfig, 'members' | 'tables'> & {
  members: MemberSettingsInput[];
  tables?: TableSettings[];
};

/** External members' admin passwords by member name; each may be a secret Output. */
export type MemberPasswords = Record<string, pulumi.Input<string>>;

/**
 * Problems with external members' passwords: each needs one. Read from the raw members, so they are
 * reported with every other problem even when the rest does not parse. `password(name)` is undefined
 * when none is given, a string when it is known now, or `true` when it is given but not yet known.
 */
export function passwordProblems(
  raw: Record<string, unknown>,
  password: (member: string) => string | true | undefined,
): string[] {
  const members: unknown[] = Array.isArray(raw.members) ? raw.members : [];
  return members.flatMap((m) => {
    if (m === null || typeof m !== 'object') return [];
    const { name, kind } = m as { name?: unknown; kind?: unknown };
    if (kind !== 'external' || typeof name !== 'string') return [];
    const given = password(name);
    if (given === true || (given !== undefined && given !== '')) return [];
    return [
      `${CONFIG_NAMESPACE}:passwords.${name}: external member "${name}" needs its admin password` +
        `${given === '' ? ' (it is empty)' : ''}; set it with: pulumi config set --secret --path 'passwords["${name}"]' <password>`,
    ];
  });
}

/**
 * Parse and check settings a program passes (not read from stack config): unknown keys, the
 * schema, and a password for each external member. Throws one `ConfigError` listing every problem.
 */
export function parseSettings(
  settings: FederationSettings,
  passwords: MemberPasswords = {},
): FederationConfig {
  const problems = Object.keys(settings)
    .filter((key) => !(CONFIG_KEYS as string[]).includes(key))
    .map(unknownKeyProblem);
  let config: FederationConfig | undefined;
  try {
    config = parseFederationConfig(settings as Record<string, unknown>);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  problems.push(
    ...passwordProblems(settings as Record<string, unknown>, (name) => {
      if (!Object.prototype.hasOwnProperty.call(passwords, name)) return undefined;
      const value = passwords[name];
      return typeof value === 'string' ? value : value === undefined || value === null ? undefined : true;
    }),
  );
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return config;
}
