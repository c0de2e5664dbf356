import { strict as assert } from 'node:assert';

/** The value, asserting it is there (instead of a non-null assertion). */
export function must<T>(value: T | undefined | null, what = 'value'): T {
  assert.ok(value !== undefined && value !== null, `${what} is present`);
  return value;
}
