/**
 * The plan: one pure function decides every member's tables, partitions, publication, grants and
 * subscriptions, with every name. What the components, the local job and the test harness iterate.
 */
import { strict as assert } from 'node:assert';
import { parseFederationConfig } from '../../components/stackConfig';
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
      [...east.ownPartitions, ...east.landings].map((p) => [
        p.resourceName,
        p.aliases,
        p.inputs.partition,
        p.inputs.publication,
        p.inputs.subscription,
      ]),
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
      east.grants.map((g) => [g.resourceName, g.aliases, g.inputs.objects]),
      [['hippo-east-replication-grant-hippos', ['hippo-east-replication-grant'], ['hippo_east']]],
    );
  });

  it('puts every table of a member in its one publication, and every landing in its one subscription per peer', function () {
    const p = plan(
      parseFederationConfig({ members, tables: [{ ...orders }, { ...orders, name: 'refunds' }] }),
    );
    const central = memberPlan(p, 'hippo-central');
    assert.deepEqual(
      [central.publication.inputs.name, central.publication.resourceName, central.publication.inputs.tables],
      [
        'pub_hippo_central',
        'hippo-central-publication',
        ['public.orders_hippo_central', 'public.refunds_hippo_central'],
      ],
    );
    assert.deepEqual(
      central.grants.map((g) => g.inputs.objects),
      [['orders_hippo_central'], ['refunds_hippo_central']],
    );
    const sub = central.subscriptions.find((s) => s.inputs.publisher === 'hippo-west');
    assert.deepEqual(sub?.inputs.landings, [
      { schema: 'public', table: 'orders', partition: 'orders_hippo_west' },
      { schema: 'public', table: 'refunds', partition: 'refunds_hippo_west' },
    ]);
    assert.equal(p.subscriptions.length, 6);
    assert.ok(
      [...central.ownPartitions, ...central.landings].every((x) => x.aliases.length === 0),
      'no table of these is the one-table stack’s',
    );
    assert.match(
      central.tables[0]?.inputs.sql ?? '',
      /PARTITION OF "public"\."orders" \(PRIMARY KEY \("region", "order_id"\)\) DEFAULT;/,
    );
  });

  it('renders get_node_name() from the member kind: pgnodemx on PGO with monitoring, the name elsewhere', function () {
    const p = plan(
      parseFederationConfig({
        members: [{ name: 'hippo-east' }, { name: 'vm', kind: 'external', host: 'db' }],
      }),
    );
    assert.match(memberPlan(p, 'hippo-east').nodeNameFunction.inputs.body, /kdapi_setof_kv\('labels'\)/);
    assert.equal(memberPlan(p, 'vm').nodeNameFunction.inputs.body, "SELECT 'vm'::text;");
  });

  it("makes a member's subscriptions to the members listed before it wait for theirs to it, so a member that joins copies after its peers subscribe", function () {
    const names = [...members.map((m) => m.name), 'hippo-south'];
    const p = plan(
      parseFederationConfig({ members: [...members, { name: 'hippo-south', kind: 'external', host: 's' }] }),
    );
    const subscriptionOf = new Map(p.subscriptions.map((s) => [s.resourceName, s]));
    const reverse = (subscriber: string, publisher: string) => `${publisher}-sub-${subscriber}`;
    for (const s of p.subscriptions) {
      const { subscriber, publisher } = s.inputs;
      const onSubscriptions = s.dependsOn.filter((d) => subscriptionOf.has(d));
      const later = names.indexOf(subscriber) > names.indexOf(publisher);
      assert.deepEqual(onSubscriptions, later ? [reverse(subscriber, publisher)] : [], s.resourceName);
    }
    // The joining member's three copies wait for the three subscriptions to it; declared first.
    const order = p.subscriptions.map((s) => s.resourceName);
    for (const peer of names.slice(0, 3)) {
      assert.ok(order.indexOf(`${peer}-sub-hippo-south`) < order.indexOf(`hippo-south-sub-${peer}`));
    }
  });
});
