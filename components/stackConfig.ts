/**
 * The stack's config with every member kind: what the program, the scripts (status, the local job)
 * and the tests parse. `parseFederationConfig` is pure over raw values; `loadConfig` reads them from
 * the Pulumi runtime; `configFromStack` from a stack's config as the Automation API returns it.
 * Unknown keys in our namespace are errors (a typo must not be ignored).
 */
import * as pulumi from '@pulumi/pulumi';
import { CONFIG_NAMESPACE, ConfigError } from './config/errors';
import { type RawConfig, passwordOf, rawConfigFromText, rawConfigFromValues } from './config/raw';
import { type FederationConfig, parseFederationConfig, passwordProblems } from './settings';

export { type FederationConfig, type MemberConfig, parseFederationConfig } from './settings';

/** Parse what the raw reader found; with `checkPasswords`, each external member must have one. */
function parse(read: RawConfig, checkPasswords: boolean): FederationConfig {
  const problems = [...read.problems];
  let config: FederationConfig | undefined;
  try {
    config = parseFederationConfig(read.raw);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (checkPasswords)
    problems.push(...passwordProblems(read.raw, (name) => passwordOf(read.passwordsText, name)));
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return config;
}

/** Read the stack's config while the program runs. */
export function loadConfig(): { config: FederationConfig; passwords: pulumi.Output<Record<string, string>> } {
  const config = parse(rawConfigFromText(pulumi.runtime.allConfig()), true);
  const passwords =
    new pulumi.Config(CONFIG_NAMESPACE).getSecretObject<Record<string, string>>('passwords') ??
    pulumi.secret<Record<string, string>>({});
  return { config, passwords };
}

/** A stack's config as `stack.getAllConfig()` returns it (full keys, text values). */
export function configFromStack(all: Record<string, { value: string }>): FederationConfig {
  return parse(
    rawConfigFromText(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]))),
    false,
  );
}

/** A stack file's config (full keys, YAML values), as the local job reads Pulumi.local.yaml. */
export function configFromValues(values: Record<string, unknown>): FederationConfig {
  return parse(rawConfigFromValues(values), false);
}
