/**
 * The local job's own keys in Pulumi.local.yaml (`pg-federation-local:`), checked as the
 * federation's are: every problem at once, each naming its key and the fix, a misspelt key with the
 * key it was probably meant to be. The `pg-federation:` keys are the program's (its parser checks
 * them); any other namespace in this file is a typo.
 */
import { closest, distance } from 'fastest-levenshtein';
import { CONFIG_KEYS, PASSWORDS_KEY } from '../components/config/schema';
import { CONFIG_NAMESPACE } from '../components/config/errors';

export const LOCAL_NAMESPACE = 'pg-federation-local';
export const LOCAL_TLS_KEY = `${LOCAL_NAMESPACE}:tls`;
export const LOCAL_BASE_PORT_KEY = `${LOCAL_NAMESPACE}:basePort`;

export interface LocalSettings {
  /** Every connection over TLS (a local CA, TLS-only servers, verify-full). */
  tls: boolean;
  /** When set, member i (in file order) runs on basePort + i instead of its `port`. */
  basePort?: number;
}

export class LocalConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Pulumi.local.yaml:\n  - ${problems.join('\n  - ')}`);
    this.name = 'LocalConfigError';
  }
}

const LOCAL_KEYS = [LOCAL_TLS_KEY, LOCAL_BASE_PORT_KEY];

/** A key no one reads: the key it was probably meant to be, when one is close. */
function unknownKey(key: string): string {
  const known = [...LOCAL_KEYS, ...CONFIG_KEYS.map((k) => `${CONFIG_NAMESPACE}:${k}`)];
  const guess = closest(key, known);
  const hint =
    distance(key, guess) <= Math.max(2, Math.floor(key.length / 6)) ? `did you mean ${guess}? ` : '';
  return `${key}: no such key; ${hint}the local job's keys are ${LOCAL_KEYS.join(', ')} (the federation's: README.md's config reference)`;
}

/** The local job's settings from Pulumi.local.yaml's config (all problems thrown at once). */
export function localSettings(config: Record<string, unknown>): LocalSettings {
  const problems: string[] = [];
  const settings: LocalSettings = { tls: false };
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(`${CONFIG_NAMESPACE}:`)) {
      // The federation's own keys: the program's parser checks those; a typo there is still ours.
      const name = key.slice(CONFIG_NAMESPACE.length + 1);
      if (name !== PASSWORDS_KEY && !CONFIG_KEYS.includes(name as (typeof CONFIG_KEYS)[number]))
        problems.push(unknownKey(key));
    } else if (key === LOCAL_TLS_KEY) {
      if (typeof value === 'boolean') settings.tls = value;
      else problems.push(`${key}: ${JSON.stringify(value)} is not true or false`);
    } else if (key === LOCAL_BASE_PORT_KEY) {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 1024 && value <= 65000) {
        settings.basePort = value;
      } else {
        problems.push(
          `${key}: ${JSON.stringify(value)} is not a port from 1024 to 65000 (member i runs on basePort + i)`,
        );
      }
    } else {
      problems.push(unknownKey(key));
    }
  }
  if (problems.length > 0) throw new LocalConfigError(problems);
  return settings;
}
