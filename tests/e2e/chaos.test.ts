/**
 * The fault campaign (scripts/chaos/) on a fixed seed, as CI runs it: each run SIGKILLs the
 * `pulumi` process tree, a member's server, or both, at a moment drawn from the seed during an
 * operation; the README's recovery follows; then every convergence check. `npm run chaos -- --runs
 * 50` is the long campaign whose table the README shows.
 */
import { strict as assert } from 'node:assert';
import { describe as describeRun, type RunResult, runCampaign } from '../../scripts/chaos/campaign';
import { requireEngine } from '../support/engine';

/** Seed 8's first four runs: add × server, shape × both, shape × pulumi, remove × both. */
const SEED = 8;
const RUNS = 4;

describe('the fault campaign on a fixed seed, through the real engine', function () {
  this.timeout(30 * 60_000);
  let results: RunResult[] = [];

  before(async function () {
    requireEngine(this);
    results = await runCampaign({ seed: SEED, runs: RUNS, log: (line) => console.log(`      ${line}`) });
  });

  it(`runs seed ${SEED}'s schedule: an operation of each kind it draws, each fault kind striking`, function () {
    assert.deepEqual(
      results.map((r) => `${r.operation} × ${r.fault}`),
      ['add × server', 'shape × both', 'shape × pulumi', 'remove × both'],
    );
    const struck = new Set(results.filter((r) => r.hit).map((r) => r.fault));
    assert.ok(struck.size >= 2, `faults that struck: ${[...struck].join(', ')}`);
  });

  it('converges after every run: the same rows everywhere, none lost, no orphan, refresh and preview clean, status healthy', function () {
    for (const r of results) {
      assert.deepEqual(r.problems, [], describeRun(r));
      assert.equal(r.converged, true, describeRun(r));
      assert.equal(r.rowsLost, 0, describeRun(r));
      assert.equal(r.duplicates, 0, describeRun(r));
      assert.deepEqual(r.orphans, [], describeRun(r));
    }
  });

  it("a killed `pulumi` is recovered by the README's commands: cancel, refresh --clear-pending-creates, the command again", function () {
    const killed = results.filter((r) => r.hit && r.exit === null);
    assert.ok(killed.length > 0, 'a pulumi process was killed');
    for (const r of killed)
      assert.deepEqual(r.recovery.slice(0, 3), [
        'cancel',
        'refresh --clear-pending-creates',
        r.operation === 'destroy' ? 'destroy' : 'up',
      ]);
  });
});
