/**
 * The pull-request check for real: scripts/pr-preview.sh (what the GitHub workflow runs) against a
 * new stack shaped like the local one and a new stack of the seed's PGO members (Pulumi.dev.yaml,
 * the real kubernetes plugin, no cluster reachable). Each preview passes, and the preview that adds
 * hippo-south shows only creates.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT, projectStackConfig } from '../../scripts/workspace';
import { EngineStack, requireEngine } from '../support/engine';

interface Preview {
  changeSummary: Record<string, number>;
}

function prPreview(e: EngineStack, out: string, env: Record<string, string> = {}) {
  const run = spawnSync(path.join(PROJECT_ROOT, 'scripts', 'pr-preview.sh'), [e.name, out], {
    cwd: e.dir,
    env: { ...process.env, ...e.env, ...env },
    encoding: 'utf8',
  });
  const preview = JSON.parse(readFileSync(path.join(out, `preview-${e.name}.json`), 'utf8')) as Preview;
  const comment = readFileSync(path.join(out, `preview-${e.name}.md`), 'utf8');
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, preview, comment };
}

describe('the pull-request preview (scripts/pr-preview.sh) through the real engine', function () {
  this.timeout(10 * 60_000);
  let out = '';
  const stacks: EngineStack[] = [];
  before(function () {
    out = mkdtempSync(path.join(tmpdir(), 'pg-federation-pr-preview-'));
    requireEngine(this);
  });
  after(async function () {
    for (const s of stacks) await s.remove();
    if (out !== '') rmSync(out, { recursive: true, force: true });
  });

  it('a new local stack previews 47 creates; with hippo-south, 70 creates and nothing else', async function () {
    const config = projectStackConfig('local');
    const e = await EngineStack.create('local', config);
    stacks.push(e);
    const members = config['pg-federation:members'] as Array<Record<string, unknown>>;
    for (const m of members) await e.setSecret(`passwords["${String(m.name)}"]`, 'not-used-by-a-preview');
    const first = prPreview(e, out);
    assert.equal(first.status, 0, first.stderr + first.comment);
    assert.deepEqual(first.preview.changeSummary, { create: 47 });
    assert.match(first.comment, /^\*\*pulumi preview of `local`\*\*: create 47 \(0 unchanged\)$/m);
    assert.match(
      first.comment,
      /^\| create \| `hippo-east-sub-hippo-west` \(pulumi-nodejs:dynamic\/pg-federation:Subscription\) \| {2}\|$/m,
    );
    await e.editConfig({
      'pg-federation:members': [
        ...members,
        { name: 'hippo-south', kind: 'external', host: '127.0.0.1', port: 55434, sslmode: 'disable' },
      ],
    });
    await e.setSecret('passwords["hippo-south"]', 'not-used-by-a-preview');
    const second = prPreview(e, out);
    assert.equal(second.status, 0, second.stderr + second.comment);
    assert.deepEqual(second.preview.changeSummary, { create: 70 });
  });

  it('a new stack of the seed PGO members previews with no cluster reachable; hippo-south adds only creates', async function () {
    const kubeconfig = path.join(out, 'unreachable-kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]',
        'users: [{name: nobody, user: {token: none}}]',
        'contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]',
        'current-context: nowhere',
      ].join('\n'),
    );
    const config = projectStackConfig('dev');
    const e = await EngineStack.create('dev', config);
    stacks.push(e);
    const first = prPreview(e, out, { KUBECONFIG: kubeconfig });
    assert.equal(first.status, 0, first.stderr + first.comment);
    const creates = first.preview.changeSummary.create ?? 0;
    assert.deepEqual(
      Object.keys(first.preview.changeSummary),
      ['create'],
      JSON.stringify(first.preview.changeSummary),
    );
    const members = config['pg-federation:members'] as unknown[];
    await e.editConfig({ 'pg-federation:members': [...members, { name: 'hippo-south' }] });
    const second = prPreview(e, out, { KUBECONFIG: kubeconfig });
    assert.equal(second.status, 0, second.stderr + second.comment);
    // hippo-south's resources, with the ConfigMap of its monitoring queries (monitoring defaults to true).
    assert.deepEqual(second.preview.changeSummary, { create: creates + 27 });
  });

  it('a config error fails the check with the error in the comment', async function () {
    const e = await EngineStack.create('broken', { 'pg-federation:members': [{ name: 'Hippo_East' }] });
    stacks.push(e);
    const run = prPreview(e, out);
    assert.notEqual(run.status, 0);
    assert.match(run.comment, /^\*\*pulumi preview of `broken` failed\*\*$/m);
    assert.match(
      run.comment,
      /pg-federation:members\[0\]\.name: "Hippo_East" is not a DNS-1035 label .* rename it, e\.g\. "hippo-east"/,
    );
  });
});
