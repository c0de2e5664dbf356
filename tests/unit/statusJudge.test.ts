/**
 * How status judges what the members said (scripts/status/judge.ts), on facts written out: the
 * repair it prints names the pair's resource by its URN when the stack was read, and a worker that
 * fails is told apart from one that is merely absent.
 */
import { strict as assert } from 'node:assert';
import { judgePair, judgeReport } from '../../scripts/status/judge';
import type { MemberFacts, SubscriberRow } from '../../scripts/status/types';

const URN =
  'urn:pulumi:dev::pg-federation::pg-federation:index:Federation$pg-federation:index:FederationNode$pulumi-nodejs:dynamic/pg-federation:Subscription::hippo-east-sub-hippo-west';
const pair = {
  subscriber: 'hippo-east',
  publisher: 'hippo-west',
  name: 'sub_hippo_east_hippo_west',
  slotName: 'sub_hippo_east_hippo_west',
  resourceName: 'hippo-east-sub-hippo-west',
};

function facts(over: Partial<MemberFacts> = {}): MemberFacts {
  return {
    subscriptions: new Map(),
    slots: new Map(),
    budgetBytes: null,
    partitions: [],
    missingTables: [],
    drift: [],
    unpublished: [],
    ...over,
  };
}

function subscriber(row: Partial<SubscriberRow>): MemberFacts {
  const full: SubscriberRow = {
    subname: pair.name,
    subenabled: true,
    worker: true,
    errors: 0,
    last_msg: null,
    states: 'r',
    ...row,
  };
  return facts({ subscriptions: new Map([[pair.name, full]]) });
}

const publisher = (lag: string) =>
  facts({
    slots: new Map([
      [
        pair.slotName,
        {
          slot_name: pair.slotName,
          active: false,
          lag,
          retained: lag,
          wal_status: 'reserved',
          invalidation: null,
          failover: false,
        },
      ],
    ]),
  });
const opts = { maxLagBytes: 16 * 2 ** 20, slotRiskPercent: 80 };

describe('status judgement', function () {
  it('an absent worker with errors counted and WAL to apply is failing; the re-copy command names its URN', function () {
    const p = judgePair(
      { ...pair, urn: URN },
      subscriber({ worker: false, errors: 3 }),
      publisher('4096'),
      opts,
    );
    assert.equal(p.status, 'broken');
    assert.equal(
      p.problem,
      "apply worker failing on hippo-east: 3 errors since its statistics were reset, not running, with hippo-west's WAL still to apply",
    );
    assert.ok(p.fix?.includes(`\`pulumi up --target-replace '${URN}'\``), p.fix);
  });

  it('without the stack it says where the URN is found; with nothing to apply an absent worker is just absent', function () {
    const failing = judgePair(pair, subscriber({ worker: false, errors: 3 }), publisher('4096'), opts);
    assert.ok(
      failing.fix?.includes(
        "`pulumi up --target-replace '<the URN of hippo-east-sub-hippo-west: `pulumi stack --show-urns`>'`",
      ),
      failing.fix,
    );
    const idle = judgePair(pair, subscriber({ worker: false, errors: 3 }), publisher('0'), opts);
    assert.equal(idle.problem, 'no apply worker running');
    const before15 = judgePair(pair, subscriber({ worker: false, errors: null }), publisher('4096'), opts);
    assert.equal(before15.problem, 'no apply worker running');
  });

  it('a running worker with past errors is judged by what it does now', function () {
    assert.equal(judgePair(pair, subscriber({ errors: 7 }), publisher('0'), opts).status, 'ok');
  });

  it('an own partition its publication does not list fails the report', function () {
    const names = ['hippo-east', 'hippo-west'];
    const report = judgeReport(
      names.map((member) => ({
        member,
        facts: facts(member === 'hippo-west' ? { unpublished: ['public.hippo_west'] } : {}),
      })),
      { tables: [], subscriptions: [], maxLagBytes: opts.maxLagBytes, slotRiskPercent: 80 },
    );
    assert.deepEqual(
      report.members.map((m) => [m.name, m.unpublished]),
      [
        ['hippo-east', []],
        ['hippo-west', ['public.hippo_west']],
      ],
    );
    assert.equal(report.healthy, false);
  });
});
