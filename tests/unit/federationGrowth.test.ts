/**
 * A member added by one config edit: what the engine would be asked to create, and what it would
 * change of what exists (every URN and input kept, but the permanent slots PGO 14–16 members keep).
 */
import { strict as assert } from 'node:assert';
import { parseFederationConfig } from '../../components/stackConfig';
import type { Registered } from '../support/mocks';
import { SEED, T, byName, counts, ofType, run } from '../support/graph';

describe('hippo-south added by one config edit', function () {
  let three: Registered[];
  let four: Registered[];
  before(async function () {
    ({ resources: three } = await run(parseFederationConfig({ members: SEED.map((name) => ({ name })) })));
    ({ resources: four } = await run(
      parseFederationConfig({ members: [...SEED, 'hippo-south'].map((name) => ({ name })) }),
    ));
  });

  it('declares 4 clusters, 16 partitions and 12 subscriptions', function () {
    const c = counts(four);
    assert.deepEqual([c.cluster, c.partition, c.subscription], [4, 16, 12]);
  });

  it('keeps the URN and inputs of every resource of the 3-member stack but for each cluster’s new permanent slot, so preview shows additions and those', function () {
    const after = new Map(four.map((r) => [r.urn, r]));
    for (const r of three) {
      const same = after.get(r.urn);
      assert.ok(same, `${r.urn} is still declared`);
      // A partition's restoreFrom and a table's peers list every other member, but are read only
      // when something is made or changed (their providers' diffs ignore them): a new peer in them
      // changes nothing. On PostgreSQL 14 (the seed's), each PGO member keeps its subscribers'
      // slots as Patroni permanent slots: hippo-south's slot on it is the one change.
      const withoutPeers = (inputs: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(inputs).filter(([key]) => key !== 'restoreFrom' && key !== 'peers'),
        );
      const slotsOf = (inputs: Record<string, unknown>) =>
        Object.keys(
          (inputs.spec as { patroni?: { dynamicConfiguration?: { slots?: object } } } | undefined)?.patroni
            ?.dynamicConfiguration?.slots ?? {},
        );
      if (r.type === T.cluster) {
        const stem = r.name.replace(/-/g, '_');
        assert.deepEqual(
          slotsOf(same.inputs).sort(),
          [...slotsOf(r.inputs), `sub_hippo_south_${stem}`].sort(),
          r.name,
        );
        const spec = (inputs: Record<string, unknown>) => {
          const copy = structuredClone(inputs) as {
            spec: { patroni: { dynamicConfiguration: { slots?: unknown } } };
          };
          delete copy.spec.patroni.dynamicConfiguration.slots;
          return copy;
        };
        assert.deepEqual(spec(same.inputs), spec(r.inputs), `${r.urn} keeps everything else`);
        continue;
      }
      assert.deepEqual(withoutPeers(same.inputs), withoutPeers(r.inputs), `${r.urn} keeps its inputs`);
    }
    const before = new Set(three.map((r) => r.urn));
    const added = four.filter((r) => !before.has(r.urn)).map((r) => r.name);
    // The README quotes this number for `pulumi preview` (with its monitoring queries' ConfigMap).
    assert.equal(added.length, 27);
    for (const name of added)
      assert.match(name, /hippo-south/, `only hippo-south's resources are new (${name})`);
  });
});

it('on PostgreSQL 17+ PGO members use failover slots: adding hippo-south changes no existing cluster', async function () {
  const stack = (names: string[]) =>
    parseFederationConfig({ postgresVersion: 17, members: names.map((name) => ({ name })) });
  const { resources: before } = await run(stack(SEED));
  const { resources: after } = await run(stack([...SEED, 'hippo-south']));
  for (const r of ofType(before, T.cluster)) {
    assert.deepEqual(byName(after, r.name, T.cluster).inputs, r.inputs, `${r.name} unchanged`);
    const dynamic = (r.inputs.spec as { patroni: { dynamicConfiguration: Record<string, unknown> } }).patroni
      .dynamicConfiguration;
    assert.equal(dynamic.slots, undefined, 'no permanent slot: its subscribers use failover slots');
  }
});
