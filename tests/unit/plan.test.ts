/**
 * The plan: one pure function decides every member's tables, partitions, publication, grants and
 * subscriptions, with every name. What the components, the local job and the test harness iterate.
 */
import { strict as assert } from 'node:assert';
import { parseFederationConfig } from '../../components/config';
import { memberPlan, plan } from '../../components/plan';

const members = ['hippo-east', 'hippo-central', 'hippo-west'].map((name) => ({
  name,
  kind: 'external',
  host: name,
}));
const orders = {
  name: 'orders',
  columns: [
    { name: 'region', type: 'text', notNull: true },
    { name: 'order_id', type: 'bigint', notNull: true },
  ],
  primaryKey: ['region', 'order_id'],
};

describe('the plan', function () {
  it("gives the seed's one table the names a one-table stack had, as aliases", function () {
    const east = memberPlan(plan(parseFederationConfig({ members })), 'hippo-east');
    assert.deepEqual(
      east.tables.map((t) => [t.resourceName, t.aliases]),
      [['hippo-east-table-hippos', ['hippo-east-table']]],
    );
    assert.deepEqual(
      east.partitions.map((p) => [p.resourceName, p.aliases, p.partition, p.publication, p.subscription]),
      [
        [
          'hippo-east-partition-hippos-hippo-east',
          ['hippo-east-partition-hippo-east'],
          'hippo_east',
          'pub_hippo_east',
          '',
        ],
        [
          'hippo-east-partition-hippos-hippo-central',
          ['hippo-east-partition-hippo-central'],
          'hippo_central',
          '',
          'sub_hippo_east_hippo_central',
        ],
        [
          'hippo-east-partition-hippos-hippo-west',
          ['hippo-east-partition-hippo-west'],
          'hippo_west',
          '',
          'sub_hippo_east_hippo_west',
        ],
      ],
    );
    assert.deepEqual(
      east.grants.map((g) => [g.resourceName, g.aliases, g.objects]),
      [['hippo-east-replication-grant-hippos', ['hippo-east-replication-grant'], ['hippo_east']]],
    );
  });

  it('puts every table of a member in its one publication, and every landing in its one subscription per peer', function () {
    const p = plan(
      parseFederationConfig({ members, tables: [{ ...orders }, { ...orders, name: 'refunds' }] }),
    );
    const central = memberPlan(p, 'hippo-central');
    assert.deepEqual(central.publication, {
      name: 'pub_hippo_central',
      resourceName: 'hippo-central-publication',
      objects: ['public.orders_hippo_central', 'public.refunds_hippo_central'],
    });
    assert.deepEqual(
      central.grants.map((g) => g.objects),
      [['orders_hippo_central'], ['refunds_hippo_central']],
    );
    const sub = central.subscriptions.find((s) => s.publisher === 'hippo-west');
    assert.deepEqual(sub?.landings, [
      { schema: 'public', table: 'orders', partition: 'orders_hippo_west' },
      { schema: 'public', table: 'refunds', partition: 'refunds_hippo_west' },
    ]);
    assert.equal(p.subscriptions.length, 6);
    assert.ok(
      central.partitions.every((x) => x.aliases.length === 0),
      'no table of these is the one-table stack’s',
    );
    assert.match(
      central.tables[0]?.sql ?? '',
      /PARTITION OF "public"\."orders" \(PRIMARY KEY \("region", "order_id"\)\) DEFAULT;/,
    );
  });

  it('renders get_node_name() from the member kind: pgnodemx on PGO with monitoring, the name elsewhere', function () {
    const p = plan(
      parseFederationConfig({
        members: [{ name: 'hippo-east' }, { name: 'vm', kind: 'external', host: 'db' }],
      }),
    );
    assert.match(memberPlan(p, 'hippo-east').nodeNameBody, /kdapi_setof_kv\('labels'\)/);
    assert.equal(memberPlan(p, 'vm').nodeNameBody, "SELECT 'vm'::text;");
  });
});
