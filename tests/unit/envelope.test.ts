/**
 * What a dynamic resource sends (components/providers/resource.ts) and what its provider's check
 * records (components/providers/envelope.ts): plain inputs in one property, secrets and outputs
 * each in their own, and the flat inputs back after check.
 */
import { strict as assert } from 'node:assert';
import * as pulumi from '@pulumi/pulumi';
import { PLAIN_KEY, openEnvelope } from '../../components/providers/envelope';
import { providers } from '../../components/providers/registry';
import { registeredProps } from '../../components/providers/resource';

const CONNECTION = {
  host: 'db.example',
  port: 5432,
  database: 'postgres',
  user: 'postgres',
  password: 'pw',
  sslmode: 'verify-full',
};

async function secretOf(value: unknown): Promise<boolean | undefined> {
  return pulumi.Output.isInstance(value) ? pulumi.isSecret(value) : undefined;
}

describe('the envelope of plain inputs', function () {
  const failover = pulumi.output(true);
  const props = registeredProps(
    'subscription',
    {
      name: 'sub_east',
      subscriber: 'hippo-west',
      streaming: 'parallel',
      tables: [{ schema: 'public', name: 'hippos' }],
      connection: CONNECTION,
      conninfo: "host=db.example password='pw'",
      failover,
      slotState: undefined,
    },
    ['connection', 'conninfo'],
  );

  it('sends the plain values as one property, and outputs, secrets and declared outputs each on their own', function () {
    assert.deepEqual(Object.keys(props).sort(), [
      PLAIN_KEY,
      '__provider',
      'connection',
      'conninfo',
      'failover',
      'slotState',
    ]);
    assert.deepEqual(props[PLAIN_KEY], {
      name: 'sub_east',
      subscriber: 'hippo-west',
      streaming: 'parallel',
      tables: [{ schema: 'public', name: 'hippos' }],
    });
    assert.equal(props.failover, failover);
  });

  it("keeps a connection's password secret and its plain fields plain, and a conninfo secret", async function () {
    const connection = props.connection as Record<string, unknown>;
    assert.equal(await secretOf(connection.password), true);
    for (const key of ['host', 'port', 'database', 'user', 'sslmode'])
      assert.equal(connection[key], CONNECTION[key as keyof typeof CONNECTION], key);
    assert.equal(await secretOf(props.conninfo), true);
  });

  it('opens to the flat inputs, leaves flat inputs as they are, and refuses an input sent twice', function () {
    const sent = { __provider: 'ref', [PLAIN_KEY]: { a: 1, b: [2] }, connection: { host: 'h' } };
    const flat = { __provider: 'ref', connection: { host: 'h' }, a: 1, b: [2] };
    assert.deepEqual(openEnvelope(sent), flat);
    assert.deepEqual(openEnvelope(flat), flat);
    assert.throws(() => openEnvelope({ ...sent, a: 3 }), /input a is sent twice: in __plain and on its own/);
  });

  it("every provider's check records the flat inputs, with or without its own check", async function () {
    const connection = { ...CONNECTION, sslmode: 'disable' };
    const plain = {
      member: 'hippo-west',
      minWalKeepSizeMB: 0,
      maxSlotWalKeepSizeMB: 1024,
      idleReplicationSlotTimeout: 0,
    };
    for (const name of ['slotLimits', 'partition'] as const) {
      const result = await providers[name].check?.(
        { ...plain, connection },
        { [PLAIN_KEY]: plain, connection },
      );
      assert.equal((result?.inputs as Record<string, unknown>)[PLAIN_KEY], undefined, name);
      assert.equal((result?.inputs as Record<string, unknown>).member, 'hippo-west', name);
    }
  });
});
