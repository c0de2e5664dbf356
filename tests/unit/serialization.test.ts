/**
 * Each dynamic resource carries a reference to its provider (components/providers/reference.ts), a
 * module text the provider host evaluates: it must be small, hold no secret, and work when loaded on
 * its own, as the host loads it (it requires the providers from the project).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseFederationConfig } from '../../components/stackConfig';
import { Federation } from '../../components/federation';
import {
  type ProviderName,
  REFERENCE_MARK,
  providerReference,
  registryRequest,
} from '../../components/providers/reference';
import { PLAIN_KEY } from '../../components/providers/envelope';
import { providers } from '../../components/providers/registry';
import { installMocks, registered } from '../support/mocks';
import { must } from '../support/must';
import { TEST_PASSWORD } from '../support/secrets';

interface Loaded {
  check(
    olds: unknown,
    news: unknown,
  ): Promise<{ inputs: Record<string, unknown>; failures: Array<{ property: string }> }>;
  diff(id: string, olds: unknown, news: unknown): Promise<{ changes: boolean; replaces: string[] }>;
  read(id: string, props: unknown): Promise<unknown>;
  update(id: string, olds: unknown, news: unknown): Promise<{ outs: Record<string, unknown> }>;
}

/** The bound of issue 23: at most 4 KB of provider text in each dynamic resource's state. */
const MAX_PROVIDER_TEXT = 4096;

/** A landing partition's inputs, as the program passes them (no server is reached with these). */
const PARTITION = {
  member: 'hippo-east',
  owner: 'hippo-west',
  connection: {
    host: 'h',
    port: 5432,
    database: 'postgres',
    user: 'postgres',
    password: 'x',
    sslmode: 'disable',
  },
  schema: 'public',
  table: 'hippos',
  partition: 'hippo_west',
  createSql: 'CREATE TABLE ...',
  onDelete: 'detach',
};

describe('dynamic provider serialization', function () {
  // Loaded from a folder inside the project, as the provider host resolves `require('pg')` from it.
  const dir = mkdtempSync(path.join(__dirname, '..', '..', 'node_modules', '.serialized-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // As the host does (cmd/dynamic-provider: `requireFromString(text).handler()`), from a file.
  function load(name: ProviderName): { text: string; handler: Loaded } {
    const text = providerReference(name);
    const file = path.join(dir, `${name}-${Math.random().toString(36).slice(2)}.js`);
    writeFileSync(file, text);
    const { handler } = require(file) as { handler?: () => Loaded };
    return { text, handler: must(handler, 'exports.handler')() };
  }

  for (const name of Object.keys(providers) as ProviderName[]) {
    it(`${name}: is a reference of at most 4 KB that names the registry, and no code of ours`, function () {
      const { text } = load(name);
      // Was 21–60.5 KB by value (2026-12-02, before the references); 4054 from the closure
      // serializer, 2.2 KB written as text (2026-12-07).
      assert.ok(text.length <= MAX_PROVIDER_TEXT, `${name} serializes to ${text.length} characters`);
      assert.ok(text.includes(REFERENCE_MARK));
      assert.ok(text.includes(JSON.stringify(registryRequest())), 'the request of the registry');
      assert.doesNotMatch(text, /ComponentResource|registerResource|require\("pg"\)|CREATE|SELECT/);
    });
  }

  it('the registry is reached by its path from the project folder, or by package path under node_modules', function () {
    assert.equal(registryRequest(), './components/providers/registry.ts');
    assert.equal(
      registryRequest(
        '/srv/app/node_modules/pg-federation/dist/components/providers/registry.js',
        '/srv/app',
      ),
      'pg-federation/dist/components/providers/registry.js',
    );
    assert.equal(
      registryRequest('/src/pgf/components/providers/registry.ts', '/src/pgf'),
      './components/providers/registry.ts',
    );
  });

  it('partition: the loaded provider checks and diffs', async function () {
    const { handler } = load('partition');
    const inputs = PARTITION;
    assert.deepEqual((await handler.check({}, inputs)).failures, []);
    // As the program sends them: the plain inputs in their envelope, opened by check.
    const { connection, ...plain } = inputs;
    const sent = await handler.check({}, { [PLAIN_KEY]: plain, connection });
    assert.deepEqual([sent.failures, sent.inputs], [[], inputs]);
    const bad = await handler.check({}, { ...inputs, partition: 'Robert"); DROP TABLE', onDelete: 'shred' });
    assert.deepEqual(bad.failures.map((f) => f.property).sort(), ['onDelete', 'partition']);
    assert.deepEqual(await handler.diff('id', inputs, inputs), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
    const moved = await handler.diff('id', inputs, {
      ...inputs,
      connection: { ...inputs.connection, host: 'other' },
    });
    assert.deepEqual([moved.changes, moved.replaces], [true, []]);
    const renamed = await handler.diff('id', inputs, { ...inputs, partition: 'west' });
    assert.deepEqual(renamed.replaces, ['partition']);
  });

  it("table: a member it cannot reach fails the loaded provider's read with the member named, as the engine prints it", async function () {
    // Before: a serialized `class Unreachable extends Error` lost its message and stack, and every
    // refresh with a member down printed "[object Object]: undefined" and "Unknown Error".
    const { handler } = load('federatedTable');
    const props = {
      member: 'hippo-east',
      connection: {
        host: '127.0.0.1',
        port: 1, // nothing listens there
        database: 'postgres',
        user: 'postgres',
        password: TEST_PASSWORD, // the tests' fixture password: it must not show in the error
        sslmode: 'disable',
      },
      schema: 'public',
      table: 'hippos',
    };
    const err = await handler.read('public.hippos', props).then(
      () => assert.fail('read a table from a closed port'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    // What the provider host prints (`${e}: ${e.stack}`) and sends the engine (e.message).
    assert.match(
      String(err),
      /^Unreachable: table public\.hippos on member "hippo-east": cannot connect to member "hippo-east" at postgres@127\.0\.0\.1:1\/postgres \(sslmode=disable\): .*ECONNREFUSED/,
    );
    assert.equal(typeof err.stack, 'string');
    assert.ok(!String(err).includes(TEST_PASSWORD));
  });

  it('a state whose provider was serialized by value migrates: a change in diff, an update that keeps the outputs and connects nowhere', async function () {
    const { text, handler } = load('federatedTable');
    const props = {
      member: 'hippo-east',
      connection: {
        host: '127.0.0.1',
        port: 1, // nothing listens there: a migrating update must not connect
        database: 'postgres',
        user: 'postgres',
        password: TEST_PASSWORD,
        sslmode: 'disable',
      },
      schema: 'public',
      table: 'hippos',
      columns: 'kept as it was',
    };
    const byValue = { ...props, __provider: 'exports.handler = __f0; /* an earlier version, by value */' };
    const current = { ...props, __provider: text };
    assert.deepEqual(await handler.diff('id', byValue, current), { changes: true });
    const migrated = await handler.update('id', byValue, current);
    assert.deepEqual(migrated.outs, { ...props, __provider: undefined });
    // Once migrated, the same inputs are no change.
    assert.equal((await handler.diff('id', current, current)).changes, false);
    // A real change on a by-value state goes to the provider as before (here: the connection moved).
    const moved = { ...current, connection: { ...props.connection, host: 'elsewhere' } };
    assert.equal((await handler.diff('id', byValue, moved)).changes, true);
  });

  it('a state holding the earlier reference (closure-serialized, the same mark) is no change, not a migration', async function () {
    const { text, handler } = load('partition');
    const props = PARTITION;
    const earlier = { ...props, __provider: `exports.handler = __f0; /* ${REFERENCE_MARK} (0.1) */` };
    assert.equal((await handler.diff('id', earlier, { ...props, __provider: text })).changes, false);
  });

  it('the mocks serialize each dynamic resource of a real graph into its __provider input', async function () {
    const resources = installMocks();
    const federation = new Federation('federation', {
      config: parseFederationConfig({ members: [{ name: 'hippo-east' }, { name: 'hippo-west' }] }),
      passwords: {},
    });
    await registered(federation.resources());
    const dynamic = resources.filter((r) => r.type.startsWith('pulumi-nodejs:dynamic/'));
    assert.equal(dynamic.length, 2 + 4 + 2);
    for (const r of dynamic) {
      const text = String(r.inputs.__provider);
      assert.match(text, /exports\.handler/);
      assert.ok(text.length <= MAX_PROVIDER_TEXT, `${r.name}: ${text.length} characters of provider`);
      assert.doesNotMatch(text, /mock-secret/, `${r.name}'s provider captures no password`);
    }
    // One serialized text per provider kind, shared by every resource of the kind (Pulumi caches
    // by provider object): growth in count would mean a reference made per resource.
    const texts = new Set(dynamic.map((r) => String(r.inputs.__provider)));
    assert.ok(texts.size <= Object.keys(providers).length, `${texts.size} distinct provider texts`);
  });
});
