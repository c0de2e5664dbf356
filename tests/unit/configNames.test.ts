/**
 * Names the federation derives from config, checked against each other and against PostgreSQL's
 * limits at preview time: a collision would otherwise fail half-way through an apply.
 */
import { strict as assert } from 'node:assert';
import { problemsOf } from '../support/configProblems';
import { parseFederationConfig } from '../../components/stackConfig';

const seed = { members: [{ name: 'hippo-east' }, { name: 'hippo-central' }, { name: 'hippo-west' }] };

describe('names the federation derives, checked against each other (a collision fails at apply otherwise)', function () {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a DEFAULT partition named as the table',
      { ...seed, defaultPartition: 'hippos' },
      /^pg-federation:defaultPartition: "hippos" is the table's own name; the DEFAULT partition needs a name of its own, e\.g\. "hippos_default"/,
    ],
    [
      "a member whose partition is another partition's primary key index",
      { members: [{ name: 'hippo-east' }, { name: 'hippo-east-pkey' }] },
      /^pg-federation:members\[1\]\.name: the partition of member "hippo-east-pkey" in hippos \("hippo_east_pkey"\) and the primary key PostgreSQL makes for hippo_east would both be named "hippo_east_pkey"/,
    ],
    [
      "a member whose partition is the DEFAULT partition's primary key index",
      { members: [{ name: 'hippo-default-pkey' }] },
      /the partition of member "hippo-default-pkey" in hippos \("hippo_default_pkey"\) and the primary key PostgreSQL makes for hippo_default would both be named "hippo_default_pkey"/,
    ],
    [
      "two tables' partitions",
      {
        ...seed,
        tables: [
          {
            name: 'a',
            columns: [{ name: 'id', type: 'int' }],
            primaryKey: ['id'],
            partitionTemplate: 'p_{member}',
          },
          {
            name: 'b',
            columns: [{ name: 'id', type: 'int' }],
            primaryKey: ['id'],
            partitionTemplate: 'p_{member}',
          },
        ],
      },
      /the partition of member "hippo-east" in b \("p_hippo_east"\) and the partition of member "hippo-east" in a \("p_hippo_east"\) would both be named "p_hippo_east"/,
    ],
    [
      'a member named like an object PGO makes for another member',
      { members: [{ name: 'hippo' }, { name: 'hippo-primary' }] },
      /^pg-federation:members\[1\]\.name: "hippo-primary" is a name PGO gives an object of member "hippo" \(`<cluster>-primary…`\) in namespace postgres-operator; rename the member/,
    ],
    [
      'a replication role that is an admin role',
      { members: [{ name: 'vm', kind: 'external', host: 'db', user: 'federation_replicator' }] },
      /^pg-federation:replicationUser: "federation_replicator" is also the admin role of member "vm"/,
    ],
    [
      'a partition template that gives no SQL name',
      { ...seed, partitionTemplate: 'hippo-{member}' },
      /^pg-federation:partitionTemplate: "hippo-\{member\}" must give lowercase SQL names/,
    ],
    [
      'a partition name over 63 bytes',
      { members: [{ name: `h${'i'.repeat(40)}` }], partitionTemplate: `${'p'.repeat(30)}_{member}` },
      /^pg-federation:members\[0\]\.name: the partition of member "hi+" in hippos would be "p+_hi+", 72 bytes, over PostgreSQL's 63/,
    ],
    [
      'an empty namespace',
      { ...seed, namespace: '' },
      /^pg-federation:namespace: must be a Kubernetes namespace name/,
    ],
    [
      'a namespace that is no DNS label',
      { members: [{ name: 'hippo-east', namespace: 'Bad_NS!' }] },
      /^pg-federation:members\[0\]\.namespace: must be a Kubernetes namespace name \(a DNS-1123 label such as postgres-operator\)/,
    ],
    [
      'a lost member still listed',
      { ...seed, lostMembers: ['hippo-east'] },
      /^pg-federation:lostMembers: "hippo-east" is still listed in members/,
    ],
    [
      'a unicode member name, suggesting a valid one',
      { members: [{ name: 'hippö-wëst' }] },
      /^pg-federation:members\[0\]\.name: "hippö-wëst" is not a DNS-1035 label .* rename it, e\.g\. "hippo-west"$/,
    ],
    [
      'a 63-character member name, suggesting one whose publication name fits',
      { members: [{ name: `h${'i'.repeat(62)}` }] },
      new RegExp(
        `gives publication name "pub_h${'i'.repeat(62)}" of 67 bytes, over PostgreSQL's 63; rename it, e\\.g\\. "h${'i'.repeat(58)}"$`,
      ),
    ],
  ];
  for (const [what, raw, expected] of cases) {
    it(`rejects ${what}`, function () {
      const problems = problemsOf(raw);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${String(expected)}, got:\n${problems.join('\n')}`,
      );
    });
  }
});

describe('endpoints the members name, checked against each other', function () {
  it('refuses two members at one endpoint (one server), naming both and the key to change', function () {
    const external = (name: string, host: string, port: number) => ({ name, kind: 'external', host, port });
    assert.deepEqual(
      problemsOf({
        members: [
          external('hippo-east', '127.0.0.1', 55431),
          external('hippo-west', '127.0.0.1', 55433),
          external('hippo-south', 'localhost', 55433),
        ],
      }),
      [
        'pg-federation:members[2].port: members "hippo-west" and "hippo-south" are both localhost:55433, one server; give each member its own server (port or host)',
      ],
    );
    // The same port on two hosts is two servers.
    parseFederationConfig({ members: [external('a', 'db-a', 5432), external('b', 'db-b', 5432)] });
  });
});
