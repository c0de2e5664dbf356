/**
 * The library's args (`new Federation(name, { members, ... })`): the same schema, defaults and
 * all-at-once messages as stack config, and the same resources as the program makes from it.
 */
import { strict as assert } from 'node:assert';
import * as pulumi from '@pulumi/pulumi';
import {
  ConfigError,
  Federation,
  type FederationSettings,
  parseFederationConfig,
  parseSettings,
} from '../../components';
import { SEED, counts, run } from '../support/graph';
import { installMocks, registered } from '../support/mocks';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('no ConfigError');
}

describe('the Federation args of the component library', function () {
  const seed: FederationSettings = { members: SEED.map((name) => ({ name })) };

  it('parse to what the same stack config parses to', function () {
    const settings: FederationSettings = {
      members: [
        { name: 'hippo-east', replicas: 2 },
        { name: 'hippo-west', kind: 'external', host: 'west.example' },
      ],
      maxMembers: 4,
      tables: [{ name: 'orders', columns: [{ name: 'id', type: 'bigint' }], primaryKey: ['id'] }],
    };
    assert.deepEqual(
      parseSettings(settings, { 'hippo-west': 'pw' }),
      parseFederationConfig(settings as unknown as Record<string, unknown>),
    );
  });

  it('report every problem at once, each naming its key and the fix as stack config does', function () {
    const problems = problemsOf(() =>
      parseSettings({
        members: [
          { name: 'Hippo_East' },
          { name: 'hippo-west', kind: 'external' },
          { name: 'hippo-north', kind: 'external', host: 'n' },
        ],
        maxMembers: 1,
        replicationUsr: 'x',
      } as FederationSettings),
    );
    const keys = new Set(problems.map((p) => p.split(': ')[0]));
    for (const key of [
      'pg-federation:replicationUsr',
      'pg-federation:maxMembers',
      'pg-federation:members[0].name',
      'pg-federation:members[1].host',
      'pg-federation:passwords.hippo-north',
    ]) {
      assert.ok(keys.has(key), `${key} in ${[...keys].join(', ')}`);
    }
    assert.match(problems.join('\n'), /replicationUsr: unknown key/);
    assert.match(problems.join('\n'), /"Hippo_East" .*rename it, e\.g\. "hippo-east"/);
    assert.match(problems.join('\n'), /external member "hippo-north" needs its admin password/);
  });

  it('take a password as a secret Output, and refuse an empty one', function () {
    const external: FederationSettings = { members: [{ name: 'hippo-west', kind: 'external', host: 'w' }] };
    assert.doesNotThrow(() => parseSettings(external, { 'hippo-west': pulumi.secret('pw') }));
    assert.match(
      problemsOf(() => parseSettings(external, { 'hippo-west': '' })).join('\n'),
      /hippo-west" needs its admin password \(it is empty\)/,
    );
  });

  it('declare the same resources as the same settings parsed first', async function () {
    const { resources: fromConfig } = await run(
      parseFederationConfig({ members: SEED.map((name) => ({ name })) }),
    );
    const fromArgs = installMocks();
    const federation = new Federation('federation', seed);
    await registered(federation.resources());
    assert.deepEqual(counts(fromArgs), counts(fromConfig));
    assert.deepEqual(
      fromArgs.map((r) => `${r.type}::${r.name}`).sort(),
      fromConfig.map((r) => `${r.type}::${r.name}`).sort(),
    );
    assert.equal(federation.config.members.length, 3);
  });
});
