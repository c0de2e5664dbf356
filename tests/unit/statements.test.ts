/**
 * The providers' SQL, built by pure functions and checked as strings (as CloudNativePG tests its
 * subscription SQL): identifiers always quoted, literals always escaped, hostile names harmless.
 */
import { strict as assert } from 'node:assert';
import { listBound, qualified } from '../../components/providers/sql/identifiers';
import { partitions } from '../../components/providers/sql/partitions';
import { publications } from '../../components/providers/sql/publications';
import { subscriptionOptions, subscriptions } from '../../components/providers/sql/subscriptions';
import { primaryKeySql } from '../../components/providers/sql/tables';
import { renderSqlFile } from '../../components/sql';

const bound = { schema: 'public', table: 'hippos', partition: 'hippo_west', owner: 'hippo-west' };

describe('statement builders', function () {
  it('partitions', function () {
    assert.equal(
      renderSqlFile('partition', {
        identifiers: { schema: 'public', table: 'hippos', partition: 'hippo_west' },
        literals: { member: 'hippo-west' },
        fragments: { primary_key: primaryKeySql(['region', 'id']) },
      })
        .replace(/^--.*\n/gm, '')
        .replace(/\s+/g, ' ')
        .trim(),
      `CREATE TABLE "public"."hippo_west" PARTITION OF "public"."hippos" (PRIMARY KEY ("region", "id")) FOR VALUES IN ('hippo-west');`,
    );
    assert.equal(
      partitions.attach(bound),
      `ALTER TABLE "public"."hippos" ATTACH PARTITION "public"."hippo_west" FOR VALUES IN ('hippo-west')`,
    );
    assert.equal(
      partitions.detach(bound),
      `ALTER TABLE "public"."hippos" DETACH PARTITION "public"."hippo_west"`,
    );
    assert.equal(partitions.drop(bound), `DROP TABLE "public"."hippo_west"`);
    assert.deepEqual(
      partitions.truncateAsReplica([bound, { schema: 'public', partition: 'orders_hippo_west' }]),
      [
        'SET LOCAL session_replication_role = replica',
        'TRUNCATE "public"."hippo_west", "public"."orders_hippo_west"',
      ],
    );
    assert.equal(listBound("o'brien"), "FOR VALUES IN ('o''brien')");
  });

  it('publications', function () {
    assert.equal(
      publications.addTable('pub_hippo_west', 'public', 'hippo_west'),
      'ALTER PUBLICATION "pub_hippo_west" ADD TABLE "public"."hippo_west"',
    );
    assert.equal(
      publications.dropTable('pub_hippo_west', 'public', 'hippo_west'),
      'ALTER PUBLICATION "pub_hippo_west" DROP TABLE "public"."hippo_west"',
    );
  });

  it('subscriptions', function () {
    assert.equal(
      subscriptions.create('sub_a_b', "host='b' password='p''w'", 'pub_b', 'sub_a_b', {
        subscriber: 140023,
        publisher: 180004,
      }),
      `CREATE SUBSCRIPTION "sub_a_b" CONNECTION 'host=''b'' password=''p''''w''' PUBLICATION "pub_b" WITH (create_slot = false, slot_name = 'sub_a_b', copy_data = true, streaming = on)`,
    );
    assert.equal(
      subscriptions.setConnection('sub_a_b', "host='c'"),
      `ALTER SUBSCRIPTION "sub_a_b" CONNECTION 'host=''c'''`,
    );
    assert.equal(
      subscriptions.setPublication('sub_a_b', 'pub_c'),
      'ALTER SUBSCRIPTION "sub_a_b" SET PUBLICATION "pub_c" WITH (refresh = false)',
    );
    assert.equal(
      subscriptions.refresh('sub_a_b'),
      'ALTER SUBSCRIPTION "sub_a_b" REFRESH PUBLICATION WITH (copy_data = true)',
    );
    assert.equal(subscriptions.detachSlot('sub_a_b'), 'ALTER SUBSCRIPTION "sub_a_b" SET (slot_name = NONE)');
    assert.equal(subscriptions.drop('sub_a_b'), 'DROP SUBSCRIPTION "sub_a_b"');
  });

  it('uses what newer majors offer only where both ends have it', function () {
    assert.deepEqual(subscriptionOptions({ subscriber: 140023, publisher: 140023 }), ['streaming = on']);
    assert.deepEqual(subscriptionOptions({ subscriber: 180004, publisher: 150018 }), ['streaming = on']);
    assert.deepEqual(subscriptionOptions({ subscriber: 160014, publisher: 180004 }), [
      'streaming = parallel',
      'origin = none',
    ]);
  });

  it('asks for a failover slot only where both ends run 17+, and the apply commit as configured', function () {
    const opts = { failover: true, synchronousCommit: 'on' };
    assert.deepEqual(subscriptionOptions({ subscriber: 170004, publisher: 180004 }, opts), [
      'streaming = parallel',
      'origin = none',
      'failover = true',
      "synchronous_commit = 'on'",
    ]);
    assert.deepEqual(subscriptionOptions({ subscriber: 160014, publisher: 180004 }, opts), [
      'streaming = parallel',
      'origin = none',
      "synchronous_commit = 'on'",
    ]);
    assert.equal(
      subscriptions.setFailover('sub_a_b', true),
      'ALTER SUBSCRIPTION "sub_a_b" SET (failover = true)',
    );
    assert.equal(
      subscriptions.setSynchronousCommit('sub_a_b', "on'; DROP"),
      `ALTER SUBSCRIPTION "sub_a_b" SET (synchronous_commit = 'on''; DROP')`,
    );
  });

  it('quotes whatever a hostile name holds', function () {
    assert.equal(qualified('public', 'x"; DROP TABLE hippos; --'), '"public"."x""; DROP TABLE hippos; --"');
    assert.equal(subscriptions.enable('a"b'), 'ALTER SUBSCRIPTION "a""b" ENABLE');
  });
});
