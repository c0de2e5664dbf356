/**
 * The local job's own keys in Pulumi.local.yaml: checked as the federation's are (every problem at
 * once, the key named, a misspelling answered with the key it was meant to be). Before, `tsl: true`
 * and `tls: ture` both ran the job without TLS.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { LocalConfigError, localSettings } from '../../scripts/localConfig';
import { PROJECT_ROOT } from '../../scripts/workspace';

function problems(config: Record<string, unknown>): string[] {
  try {
    localSettings(config);
  } catch (err) {
    assert.ok(err instanceof LocalConfigError, String(err));
    return err.problems;
  }
  assert.fail('accepted');
}

describe("the local job's keys (pg-federation-local:)", function () {
  it('reads the tracked Pulumi.local.yaml as it is: TLS off, no base port', function () {
    const file = load(readFileSync(path.join(PROJECT_ROOT, 'Pulumi.local.yaml'), 'utf8')) as {
      config: Record<string, unknown>;
    };
    assert.deepEqual(localSettings(file.config), { tls: false });
  });

  it('takes tls and basePort', function () {
    assert.deepEqual(
      localSettings({ 'pg-federation-local:tls': true, 'pg-federation-local:basePort': 56431 }),
      {
        tls: true,
        basePort: 56431,
      },
    );
  });

  it('refuses a misspelt key with the key it was meant to be, and a bad value, all at once', function () {
    assert.deepEqual(
      problems({
        'pg-federation-local:tsl': true,
        'pg-federation-local:basePort': 80,
        'pg-federation:member': [],
        'pg-federaton:members': [],
      }),
      [
        "pg-federation-local:tsl: no such key; did you mean pg-federation-local:tls? the local job's keys are pg-federation-local:tls, pg-federation-local:basePort (the federation's: README.md's config reference)",
        'pg-federation-local:basePort: 80 is not a port from 1024 to 65000 (member i runs on basePort + i)',
        "pg-federation:member: no such key; did you mean pg-federation:members? the local job's keys are pg-federation-local:tls, pg-federation-local:basePort (the federation's: README.md's config reference)",
        "pg-federaton:members: no such key; did you mean pg-federation:members? the local job's keys are pg-federation-local:tls, pg-federation-local:basePort (the federation's: README.md's config reference)",
      ],
    );
  });

  it('refuses a value YAML did not read as a boolean (tls: ture)', function () {
    assert.deepEqual(problems({ 'pg-federation-local:tls': 'ture' }), [
      'pg-federation-local:tls: "ture" is not true or false',
    ]);
  });

  it('gives no guess for a key close to none', function () {
    assert.deepEqual(problems({ 'pg-federation-local:colour': 'blue' }), [
      "pg-federation-local:colour: no such key; the local job's keys are pg-federation-local:tls, pg-federation-local:basePort (the federation's: README.md's config reference)",
    ]);
  });
});
