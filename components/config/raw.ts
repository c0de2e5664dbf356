/**
 * The one reader of raw stack config: the `pg-federation:` keys of a stack, as the program gets them
 * from the Pulumi runtime, as `stack.getAllConfig()` gives them to a script, or as a stack file says
 * them (YAML values). Pulumi holds every value as text: string keys arrive as they are, lists,
 * numbers and booleans as JSON. The secret `passwords` key is kept apart, as text, and never parsed
 * into the rest.
 */
import { CONFIG_NAMESPACE, unknownKeyProblem } from './errors';
import { CONFIG_KEYS, PASSWORDS_KEY, isStringKey } from './schema';

export interface RawConfig {
  /** The keys without their namespace, values typed. */
  raw: Record<string, unknown>;
  /** Keys of the namespace this program does not read. */
  problems: string[];
  /** The `passwords` key as Pulumi holds it (JSON text), if set. */
  passwordsText?: string;
}

/** Pulumi's text values (`pulumi.runtime.allConfig()`, or `getAllConfig()` values), full keys. */
export function rawConfigFromText(entries: Record<string, string>): RawConfig {
  return read(entries, (key, text) => (isStringKey(key) ? text : parseValue(text)));
}

/** Values already typed (a stack file's `config:` read as YAML), full keys. */
export function rawConfigFromValues(entries: Record<string, unknown>): RawConfig {
  return read(entries, (_key, value) => value);
}

function read<V>(entries: Record<string, V>, value: (key: string, v: V) => unknown): RawConfig {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  let passwordsText: string | undefined;
  for (const [fullKey, v] of Object.entries(entries)) {
    if (!fullKey.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
    const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
    if (key === PASSWORDS_KEY) {
      passwordsText = typeof v === 'string' ? v : JSON.stringify(v);
      continue;
    }
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      problems.push(unknownKeyProblem(key));
      continue;
    }
    raw[key] = value(key, v);
  }
  return { raw, problems, ...(passwordsText !== undefined ? { passwordsText } : {}) };
}

/** Config values arrive as strings; structured values and numbers are JSON. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One member's password from the `passwords` text, without keeping the others. */
export function passwordOf(text: string | undefined, member: string): string | undefined {
  if (text === undefined) return undefined;
  const value = parseValue(text);
  if (value === null || typeof value !== 'object') return undefined;
  const password = (value as Record<string, unknown>)[member];
  return typeof password === 'string' ? password : undefined;
}
