/**
 * What the dynamic providers' `check` and `diff` share: unknown values and change detection.
 *
 * In a `pulumi preview`, an input that depends on a resource not created yet (a new member's
 * generated password, say) reaches `check` and `diff` as the engine's unknown sentinel, at the top
 * level or anywhere inside an object. `check` validates only what is known; `diff` reports a change
 * for what is unknown, and a replacement only where an identity field itself is unknown.
 *
 * This module is serialized by value into each dynamic provider: it imports nothing.
 */

/** The engine's sentinel for a value not known yet (`@pulumi/pulumi/runtime/rpc`'s `unknownValue`). */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

/** True when the value is, or holds anywhere inside it, an unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

/**
 * Equal as stored state: same JSON shape, key order ignored. An unknown is never equal to anything,
 * itself included (in a preview it stands for a value that may or may not change).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (containsUnknown(a) || containsUnknown(b)) return false;
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

/**
 * The keys whose values differ between the old state and the new inputs. A key the old state does
 * not hold at all was added by a newer version of this program: it counts as changed only when
 * `added` says the new value is not what the older version did without it.
 */
export function changedKeys<T extends object>(
  olds: T,
  news: T,
  keys: ReadonlyArray<keyof T>,
  added: Partial<Record<keyof T, (value: unknown) => boolean>> = {},
): Array<keyof T & string> {
  return keys.filter((key) => {
    const before = field(olds, key);
    const after = field(news, key);
    if (before === ABSENT && after !== ABSENT) {
      const implied = added[key];
      return implied === undefined ? true : !implied(after);
    }
    return !sameValue(before === ABSENT ? undefined : before, after === ABSENT ? undefined : after);
  }) as Array<keyof T & string>;
}

const ABSENT = Symbol('absent');

/** One field of a value that may itself be unknown (then so is the field) or not an object. */
function field(value: unknown, key: PropertyKey): unknown {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value !== 'object' || value === null || !(key in value)) return ABSENT;
  return (value as Record<PropertyKey, unknown>)[key];
}

/** A check failure for each key whose known value fails `valid`; unknown values pass for now. */
export function invalidKeys<T extends object>(
  news: T,
  rules: Array<[keyof T & string, (value: unknown) => boolean, string]>,
): Array<{ property: string; reason: string }> {
  return rules
    .filter(([key, valid]) => !containsUnknown(news[key]) && !valid(news[key]))
    .map(([key, , reason]) => ({ property: key, reason }));
}
