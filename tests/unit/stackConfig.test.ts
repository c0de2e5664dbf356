/** loadConfig: the stack config as the Pulumi runtime hands it over. */
import { strict as assert } from 'node:assert';
import * as pulumi from '@pulumi/pulumi';
import { ConfigError } from '../../components/config/errors';
import type { PgoMember } from '../../components/servers/pgo';
import { loadConfig } from '../../components/stackConfig';

describe('loadConfig (the stack config as the Pulumi runtime hands it over)', function () {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  it('parses JSON-valued keys, keeps strings as strings, and reads passwords as a secret', async function () {
    pulumi.runtime.setAllConfig(
      {
        'pg-federation:members': JSON.stringify([
          { name: 'hippo-east', kind: 'external', host: 'db', port: 5433 },
          { name: 'hippo-west' },
        ]),
        'pg-federation:namespace': '1234',
        'pg-federation:maxMembers': '12',
        'pg-federation:monitoring': 'false',
        'pg-federation:passwords': JSON.stringify({ 'hippo-east': 'from-config' }),
        'kubernetes:context': 'ignored',
      },
      ['pg-federation:passwords'],
    );
    const { config, passwords } = loadConfig();
    assert.equal(config.members[0]?.admin.port, 5433);
    assert.equal(config.maxMembers, 12);
    assert.equal(config.monitoring, false);
    assert.equal((config.members[1] as PgoMember | undefined)?.namespace, '1234');
    assert.equal(await pulumi.isSecret(passwords), true);
  });

  it('rejects a misspelt key of its namespace', function () {
    pulumi.runtime.setAllConfig({ 'pg-federation:members': '[{"name":"a"}]', 'pg-federation:tabel': 'x' });
    assert.throws(() => loadConfig(), /pg-federation:tabel: unknown key; check the spelling/);
  });

  it('asks for the password of an external member, with the command that sets it', function () {
    pulumi.runtime.setAllConfig({ 'pg-federation:members': '[{"name":"vm","kind":"external","host":"db"}]' });
    assert.throws(
      () => loadConfig(),
      /pg-federation:passwords\.vm: external member "vm" needs its admin password; set it with: pulumi config set --secret --path 'passwords\["vm"\]' <password>/,
    );
  });

  it('rejects an empty password of an external member', function () {
    pulumi.runtime.setAllConfig(
      {
        'pg-federation:members': '[{"name":"vm","kind":"external","host":"db"}]',
        'pg-federation:passwords': JSON.stringify({ vm: '' }),
      },
      ['pg-federation:passwords'],
    );
    assert.throws(
      () => loadConfig(),
      /pg-federation:passwords\.vm: external member "vm" needs its admin password \(it is empty\)/,
    );
  });

  it("fails as Pulumi's RunError, which the CLI prints without a stack trace, with every problem", function () {
    pulumi.runtime.setAllConfig({ 'pg-federation:members': '[{"name":"A"}]', 'pg-federation:tabel': 'x' });
    assert.throws(
      () => loadConfig(),
      (err: Error) => {
        assert.ok(err instanceof pulumi.RunError && err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.split(': ')[0]),
          ['pg-federation:tabel', 'pg-federation:members[0].name'],
          err.problems.join('\n'),
        );
        return true;
      },
    );
  });
});
