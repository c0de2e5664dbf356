/**
 * The alert rules through Prometheus' own promtool: `check rules` on the shipped file, and `test
 * rules` on the series of monitoring/tests/ that model each fault (a pair down, lag, a slot at risk
 * or lost, apply errors) and healthy pairs. promtool comes from PATH (.ci/run builds it:
 * ../shared/promtool/build); without it the suite skips, and under PG_FEDERATION_NO_SKIP=1 fails.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { RULES_FILE } from '../../scripts/monitoringRules';
import { requireTool } from '../support/engine';

const TESTS = path.join(path.dirname(RULES_FILE), 'tests');

function promtool(args: string[]) {
  const run = spawnSync('promtool', args, { encoding: 'utf8' });
  return {
    code: run.status,
    output: `${run.stdout ?? ''}${run.stderr ?? ''}`,
    missing: run.error !== undefined,
  };
}

describe('the alert rules, by promtool', function () {
  before(function () {
    requireTool(
      this,
      !promtool(['--version']).missing,
      'promtool is not on PATH (export PATH="$(../shared/promtool/build):$PATH"; .ci/run does)',
    );
  });

  it('checks monitoring/federation-rules.yml: 5 rules', function () {
    const run = promtool(['check', 'rules', RULES_FILE]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /SUCCESS: 5 rules found/);
  });

  it('passes every unit test of monitoring/tests/', function () {
    const files = readdirSync(TESTS)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => path.join(TESTS, f));
    assert.ok(files.length > 0);
    const run = promtool(['test', 'rules', ...files]);
    assert.equal(run.code, 0, run.output);
    assert.doesNotMatch(run.output, /FAILED/);
  });
});
