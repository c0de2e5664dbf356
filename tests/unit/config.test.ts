/**
 * Stack config: defaults, per-member overrides, and a named error for every bad input.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { CONFIG_KEYS } from '../../components/config/schema';
import { problemsOf } from '../support/configProblems';
import type { PgoMember } from '../../components/servers/pgo';
import { DEFAULT_IMAGES } from '../../components/servers/pgoNames';
import { type FederationConfig, parseFederationConfig } from '../../components/stackConfig';
import { SEED_TABLE } from '../../components/config/tables';

/** The PGO members of a config (every member these tests name without a kind is one). */
function pgoMembers(cfg: FederationConfig): PgoMember[] {
  return cfg.members.map((m) => {
    assert.equal(m.kind, 'pgo');
    return m as PgoMember;
  });
}

const seed = { members: [{ name: 'hippo-east' }, { name: 'hippo-central' }, { name: 'hippo-west' }] };

describe('stack config', function () {
  it("defaults to the seed's values", function () {
    const cfg = parseFederationConfig(seed);
    assert.deepEqual(cfg.tables, [SEED_TABLE]);
    assert.equal(cfg.tables[0]?.defaultPartition, 'hippo_default');
    assert.equal(cfg.postgresVersion, 14);
    assert.equal(cfg.maxMembers, 10);
    const east = cfg.members[0];
    assert.deepEqual(east, {
      name: 'hippo-east',
      kind: 'pgo',
      namespace: 'postgres-operator',
      user: 'postgres',
      admin: { host: 'hippo-east-primary.postgres-operator.svc', port: 5432, sslmode: 'verify-full' },
      replication: {
        host: 'hippo-east-primary.postgres-operator.svc',
        port: 5432,
        sslmode: 'verify-full',
        sslrootcert: '/pgconf/tls/ca.crt',
      },
      storage: { data: '1Gi', backup: '1Gi' },
      postgresVersion: 14,
      images: DEFAULT_IMAGES,
      nodeName: 'pgnodemx',
      serverGeneration: 1,
      // A primary alone, as the seed; a quarter of its 1Gi volume for WAL kept for away subscribers.
      replicas: 1,
      walBudgetMB: 256,
    });
  });

  it('gives each member a WAL budget: a quarter of a PGO volume, 10GB on an external server, or what config says', function () {
    const budgets = (raw: Record<string, unknown>) =>
      parseFederationConfig(raw).members.map((m) => [m.name, m.walBudgetMB]);
    assert.deepEqual(
      budgets({
        members: [
          { name: 'small' },
          { name: 'big', dataStorage: '100Gi' },
          { name: 'vm', kind: 'external', host: 'db' },
          { name: 'tuned', kind: 'external', host: 'db2', maxSlotWalKeepSize: '512MB' },
          { name: 'open', maxSlotWalKeepSize: '-1' },
        ],
      }),
      [
        ['small', 256],
        ['big', 25600],
        ['vm', 10240],
        ['tuned', 512],
        ['open', -1],
      ],
    );
    assert.deepEqual(budgets({ members: [{ name: 'a' }], maxSlotWalKeepSize: '2GB' }), [['a', 2048]]);
    assert.deepEqual(
      problemsOf({
        members: [{ name: 'a', maxSlotWalKeepSize: '10 gigs' }],
        maxSlotWalKeepSize: '5Gi',
        idleReplicationSlotTimeout: 'a week',
      }),
      [
        'pg-federation:maxSlotWalKeepSize: must be a size such as 512MB, 10GB or 1TB (or -1 for no budget), or empty for the default',
        'pg-federation:idleReplicationSlotTimeout: must be 0 (off) or a duration such as 90min, 36h or 7d',
        'pg-federation:members[0].maxSlotWalKeepSize: must be a size such as 512MB, 10GB or 1TB (or -1 for no budget)',
      ],
    );
  });

  it('gives each PostgreSQL version the images PGO v5.8.9 ships for it, and the seed its own for 14', function () {
    const cfg = parseFederationConfig({
      members: [{ name: 'hippo-east' }, { name: 'hippo-west', postgresVersion: 18 }],
      postgresVersion: 16,
    });
    assert.deepEqual(
      pgoMembers(cfg).map((m) => [m.postgresVersion, m.images.postgres]),
      [
        [16, 'registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-16.15-2633'],
        [18, 'registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-18.6-2633'],
      ],
    );
    assert.equal(pgoMembers(parseFederationConfig(seed))[0]?.images.postgres, DEFAULT_IMAGES.postgres);
  });

  it('applies per-member overrides: a port-forwarded admin endpoint keeps the in-cluster replication endpoint', function () {
    const cfg = parseFederationConfig({
      members: [
        { name: 'hippo-east', host: 'localhost', port: 15432, sslmode: 'require', dataStorage: '5Gi' },
        { name: 'hippo-west', namespace: 'west', kubeContext: 'west-cluster' },
      ],
    });
    const [east, west] = pgoMembers(cfg);
    assert.deepEqual(east?.admin, { host: 'localhost', port: 15432, sslmode: 'require' });
    assert.equal(east?.replication.host, 'hippo-east-primary.postgres-operator.svc');
    assert.deepEqual(east?.storage, { data: '5Gi', backup: '1Gi' });
    assert.equal(west?.replication.host, 'hippo-west-primary.west.svc');
    assert.equal(west?.kubeContext, 'west-cluster');
  });

  it('external members replicate through their admin endpoint unless told otherwise', function () {
    const cfg = parseFederationConfig({
      members: [{ name: 'laptop', kind: 'external', host: '127.0.0.1', port: 5433, sslmode: 'disable' }],
    });
    assert.deepEqual(cfg.members[0]?.replication, { host: '127.0.0.1', port: 5433, sslmode: 'disable' });
  });

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an empty member list', { members: [] }, /^pg-federation:members: list at least one member/],
    ['no member list', {}, /^pg-federation:members: /],
    [
      'a duplicate name',
      { members: [{ name: 'hippo-east' }, { name: 'hippo-east' }] },
      /^pg-federation:members\[1\]\.name: "hippo-east" is listed twice \(also members\[0\]\.name\)/,
    ],
    [
      'a name that is not a DNS-1035 label',
      { members: [{ name: 'Hippo_East' }] },
      /^pg-federation:members\[0\]\.name: "Hippo_East" is not a DNS-1035 label .* rename it, e\.g\. "hippo-east"/,
    ],
    [
      'a name starting with a digit',
      { members: [{ name: '1hippo' }] },
      /^pg-federation:members\[0\]\.name: "1hippo" is not a DNS-1035 label/,
    ],
    [
      'a name whose partition collides with the default partition after - → _',
      { members: [{ name: 'hippo-default' }] },
      /^pg-federation:members\[0\]\.name: the partition of member "hippo-default" in hippos \("hippo_default"\) and the DEFAULT partition of hippos would both be named "hippo_default"; rename one/,
    ],
    [
      'a name whose partition collides with the table',
      { members: [{ name: 'hippos' }] },
      /the partition of member "hippos" in hippos \("hippos"\) and table hippos would both be named "hippos"/,
    ],
    [
      'names whose subscription name exceeds 63 bytes',
      { members: [{ name: `a${'b'.repeat(31)}` }, { name: `c${'d'.repeat(31)}` }] },
      /^pg-federation:members: the subscription name "sub_a?b+_c?d+" .* is 69 bytes, over PostgreSQL's 63/,
    ],
    [
      'more members than maxMembers',
      { members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], maxMembers: 2 },
      /^pg-federation:maxMembers: 3 members are listed but maxMembers is 2; raise maxMembers/,
    ],
    ['a misspelt key', { ...seed, maxMember: 5 }, /^pg-federation: unknown key\(s\) maxMember/],
    [
      'a misspelt member key',
      { members: [{ name: 'hippo-east', hostname: 'x' }] },
      /^pg-federation:members\[0\]: unknown key\(s\) hostname/,
    ],
    [
      'an external member without a host',
      { members: [{ name: 'vm', kind: 'external' }] },
      /^pg-federation:members\[0\]\.host: external member "vm" needs a host/,
    ],
    [
      'PGO-only keys on an external member',
      { members: [{ name: 'vm', kind: 'external', host: 'db', dataStorage: '1Gi' }] },
      /^pg-federation:members\[0\]: dataStorage do not apply to external members; remove them from member "vm"/,
    ],
    [
      'a server generation on a PGO member (its cluster upgrades in place)',
      { members: [{ name: 'hippo-east', serverGeneration: 2 }] },
      /^pg-federation:members\[0\]: serverGeneration do not apply to pgo members; remove them from member "hippo-east"/,
    ],
    [
      'a server generation below 1',
      { members: [{ name: 'vm', kind: 'external', host: 'db', serverGeneration: 0 }] },
      /^pg-federation:members\[0\]\.serverGeneration: /,
    ],
    [
      'PostgreSQL newer than PGO runs',
      { members: [{ name: 'hippo-east', postgresVersion: 19 }] },
      /^pg-federation:members\[0\]\.postgresVersion: PGO v5\.8\.9 runs PostgreSQL 18 at most/,
    ],
    [
      'PostgreSQL older than 14',
      { ...seed, postgresVersion: 13 },
      /^pg-federation:postgresVersion: datemultirange needs PostgreSQL 14/,
    ],
    [
      'a bad storage size',
      { ...seed, dataStorage: 'lots' },
      /^pg-federation:dataStorage: must be a Kubernetes quantity/,
    ],
    [
      'a bad table name',
      { ...seed, table: 'Hippos;drop' },
      /^pg-federation:table: "Hippos;drop" must be a lowercase SQL name/,
    ],
    [
      'a template without {member}',
      { ...seed, partitionTemplate: 'p' },
      /^pg-federation:partitionTemplate: "p" must contain \{member\}/,
    ],
  ];
  for (const [what, raw, expected] of cases) {
    it(`rejects ${what}, naming the key and the fix`, function () {
      const problems = problemsOf(raw);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${String(expected)}, got:\n${problems.join('\n')}`,
      );
    });
  }

  it('reports every problem at once', function () {
    const problems = problemsOf({ members: [{ name: 'A' }, { name: 'b' }, { name: 'b' }], maxMembers: 2 });
    assert.deepEqual(
      problems.map((p) => p.split(';')[0]),
      [
        'pg-federation:maxMembers: 3 members are listed but maxMembers is 2',
        `pg-federation:members[0].name: "A" is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ending with a letter or digit, at most 63 characters)`,
        'pg-federation:members[2].name: "b" is listed twice (also members[1].name)',
      ],
      problems.join('\n'),
    );
  });

  it('reports a bad name and a bad sslmode of different members together, and a bad key of the same member', function () {
    const problems = problemsOf({
      members: [
        { name: 'hippo_south' },
        { name: 'hippo-west', sslmode: 'disabled' },
        { name: 'hippo-east', kind: 'external', host: 'db', hostname: 'x' },
      ],
    });
    assert.deepEqual(
      problems.map((p) => p.split(':').slice(0, 2).join(':').split(' ')[0]),
      ['pg-federation:members[1].sslmode', 'pg-federation:members[2]', 'pg-federation:members[0].name'],
      problems.join('\n'),
    );
  });

  describe('tables', function () {
    const orders = {
      name: 'orders',
      columns: [
        { name: 'region', type: 'text', notNull: true },
        { name: 'order_id', type: 'bigint', notNull: true },
        { name: 'amount', type: 'numeric(10,2)', default: 0 },
      ],
      primaryKey: ['region', 'order_id'],
    };

    it('defaults partitions to <table>_<member> and the DEFAULT partition to <table>_default', function () {
      const cfg = parseFederationConfig({ ...seed, tables: [orders] });
      assert.deepEqual(
        [cfg.tables[0]?.partitionTemplate, cfg.tables[0]?.defaultPartition, cfg.tables[0]?.ownerColumn],
        ['orders_{member}', 'orders_default', 'node_name'],
      );
    });

    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        'a type with SQL in it',
        { columns: [{ name: 'id', type: 'int); DROP TABLE x; --' }] },
        /^pg-federation:tables\[0\]\.columns\[0\]\.type: "int\); DROP TABLE x; --" is not a type name this program accepts/,
      ],
      [
        'a default expression that is not a bare call',
        { columns: [{ name: 'id', type: 'int', defaultExpression: 'pg_sleep(10)' }] },
        /columns\[0\]\.defaultExpression: "pg_sleep\(10\)" must be a call of a function without arguments/,
      ],
      [
        'a primary key column that does not exist',
        { primaryKey: ['nope'] },
        /^pg-federation:tables\[0\]\.primaryKey\[0\]: "nope" is not one of the table's columns/,
      ],
      [
        'a system column',
        { columns: [{ name: 'ctid', type: 'int' }], primaryKey: ['ctid'] },
        /columns\[0\]\.name: "ctid" is a PostgreSQL system column/,
      ],
      [
        'an owner column with a default',
        {
          columns: [
            { name: 'id', type: 'int' },
            { name: 'node_name', type: 'text', default: 'x' },
          ],
        },
        /the owner column node_name takes no default of yours/,
      ],
      [
        'a table without columns',
        { columns: [] },
        /^pg-federation:tables\[0\]\.columns: list the columns of the table/,
      ],
    ];
    for (const [what, change, expected] of bad) {
      it(`rejects ${what}`, function () {
        const problems = problemsOf({ ...seed, tables: [{ ...orders, ...change }] });
        assert.ok(
          problems.some((p) => expected.test(p)),
          problems.join('\n'),
        );
      });
    }

    it('rejects the single-table keys beside tables, unless they hold their defaults', function () {
      assert.match(
        problemsOf({ ...seed, tables: [orders], table: 'x' })[0] ?? '',
        /^pg-federation:table: set these on each entry of tables instead/,
      );
      assert.equal(parseFederationConfig({ ...seed, tables: [orders], table: 'hippos' }).tables.length, 1);
    });
  });

  it('declares every key in Pulumi.yaml with a type, a description and the default the schema applies', function () {
    const project = load(readFileSync(path.join(__dirname, '..', '..', 'Pulumi.yaml'), 'utf8')) as {
      config: Record<string, { type: string; description: string; default: unknown }>;
    };
    const declared = Object.keys(project.config).sort();
    const structured = ['members', 'tables']; // objects: documented in Pulumi.yaml's comment, no project-config type exists
    assert.deepEqual(declared, CONFIG_KEYS.filter((k) => !structured.includes(k)).sort());
    const defaults = parseFederationConfig({ members: [{ name: 'a' }] });
    const member = pgoMembers(defaults)[0];
    const expected: Record<string, unknown> = {
      namespace: member?.namespace,
      postgresVersion: defaults.postgresVersion,
      // Empty: the images of the member's PostgreSQL version.
      postgresImage: '',
      exporterImage: '',
      pgbackrestImage: '',
      dataStorage: member?.storage.data,
      backupStorage: member?.storage.backup,
      database: defaults.database,
      replicationUser: defaults.replicationUser,
      table: defaults.tables[0]?.name,
      partitionTemplate: defaults.tables[0]?.partitionTemplate,
      defaultPartition: defaults.tables[0]?.defaultPartition,
      lostMembers: defaults.lostMembers,
      allowDestructiveChanges: defaults.allowDestructiveChanges,
      maxMembers: defaults.maxMembers,
      syncTimeoutSeconds: defaults.syncTimeoutSeconds,
      partitionDeletion: defaults.partitionDeletion,
      monitoring: defaults.monitoring,
      prometheusRule: defaults.prometheusRule,
      retainClusters: defaults.retainClusters,
      replicas: member?.replicas,
      // Empty: each member kind's default.
      maxSlotWalKeepSize: '',
      idleReplicationSlotTimeout: defaults.idleReplicationSlotTimeout,
      applySynchronousCommit: defaults.applySynchronousCommit,
    };
    for (const [key, decl] of Object.entries(project.config)) {
      assert.ok(decl.description.length > 10, `${key} has a description`);
      assert.deepEqual(decl.default, expected[key], `${key}: Pulumi.yaml default matches the schema`);
      assert.equal(
        decl.type,
        Array.isArray(decl.default)
          ? 'array'
          : typeof decl.default === 'number'
            ? 'integer'
            : decl.default === undefined
              ? 'string'
              : typeof decl.default,
        `${key} type`,
      );
    }
  });
});
