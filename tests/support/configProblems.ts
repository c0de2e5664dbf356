import { strict as assert } from 'node:assert';
import { ConfigError } from '../../components/config/errors';
import { parseFederationConfig } from '../../components/stackConfig';

/** The problems a raw config is refused with (it must be refused, with a ConfigError). */
export function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseFederationConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}
