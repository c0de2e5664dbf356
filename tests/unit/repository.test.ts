/**
 * What the repository ships besides the program: the CI workflow (previews per environment), the
 * Pulumi Kubernetes Operator manifest, and the README's config reference against the schema.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { loadAll, load } from 'js-yaml';
import { createHash } from 'node:crypto';
import { CONFIG_KEYS } from '../../components/config/schema';
import { CRD_FILE } from '../support/kube';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  env?: Record<string, string>;
  needs?: string;
  strategy?: { matrix: { stack: string[] } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

/** The environments: every stack file in the repo but the embedded demo. */
/** Every `run:` of the workflow's test job, in order. */
function testRuns(): string {
  const workflow = load(read('.github/workflows/pulumi.yml')) as Workflow;
  return (workflow.jobs.test?.steps ?? []).flatMap((s) => (s.run !== undefined ? [s.run] : [])).join('\n');
}

/** The npm commands a script runs, in order (`npm ci`, `npm run lint`, `npm test`, ...). */
function npmCommands(script: string): string[] {
  const commands = script
    .split('\n')
    .filter((line) => !/^\s*(#|echo\b)/.test(line))
    .join('\n');
  return [...commands.matchAll(/\bnpm (ci|test|run [a-z0-9:]+)/g)].map((m) => `npm ${m[1]}`);
}

/** The majors a script's `for major in ...` loop runs test:major on. */
function majorsOf(script: string): number[] {
  return (/for major in ([0-9 ]+); do/.exec(script)?.[1] ?? '').trim().split(/\s+/).map(Number);
}

const environments = readdirSync(ROOT)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined && s !== 'local')
  .sort();

describe('the GitHub Actions workflow', function () {
  const workflow = load(read('.github/workflows/pulumi.yml')) as Workflow;
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);

  it('runs on pull requests and on the main branch', function () {
    assert.deepEqual(Object.keys(workflow.on).sort(), ['pull_request', 'push']);
    assert.deepEqual(workflow.on.push, { branches: ['main'] });
  });

  it('uses only real, pinned actions', function () {
    const uses = [...new Set(steps.flatMap((s) => (s.uses !== undefined ? [s.uses] : [])))].sort();
    assert.deepEqual(uses, [
      'actions/checkout@v4',
      'actions/setup-go@v5',
      'actions/setup-node@v4',
      'pulumi/actions@v6',
    ]);
  });

  it('installs, lints and runs the tests before any preview or update', function () {
    assert.deepEqual(npmCommands(testRuns()).slice(0, 3), ['npm ci', 'npm run lint', 'npm test']);
    assert.equal(workflow.jobs.preview?.needs, 'test');
    assert.equal(workflow.jobs.up?.needs, 'test');
    // Pulumi skips the program's type check only where the test job's lint has run it.
    for (const job of ['preview', 'up']) {
      assert.equal(workflow.jobs[job]?.env?.PULUMI_NODEJS_TRANSPILE_ONLY, 'true', job);
    }
  });

  it('runs the program, the engine floor and the benchmark with the same node arguments', function () {
    const nodeargs = (file: string): unknown =>
      (load(read(file)) as { runtime?: { options?: { nodeargs?: string } } }).runtime?.options?.nodeargs;
    const args = nodeargs('Pulumi.yaml');
    assert.equal(args, '--max-semi-space-size=64');
    assert.equal(nodeargs('bench/floor/Pulumi.yaml'), args);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts.bench ?? '', new RegExp(`^node ${String(args)} `));
  });

  it('runs the same suite as .ci/run, with nothing skipped: the same npm commands, majors, and tools', function () {
    const ci = read('.ci/run');
    assert.deepEqual(npmCommands(testRuns()), npmCommands(ci));
    assert.deepEqual(majorsOf(testRuns()), majorsOf(ci));
    assert.deepEqual(majorsOf(ci), [14, 15, 16, 17]);
    assert.equal(workflow.jobs.test?.env?.PG_FEDERATION_NO_SKIP, '1');
    assert.match(ci, /^export PG_FEDERATION_NO_SKIP=1$/m);
    // The tools the PGO suites need: an API server and etcd (envtest's binaries), the PGO CRD at v5.8.9.
    const runs = testRuns();
    assert.match(runs, /setup-envtest@v\d+\.\d+\.\d+\n.*setup-envtest use 1\.\d+\.x/);
    assert.match(
      runs,
      /postgres-operator\/v5\.8\.9\/config\/crd\/bases\/postgres-operator\.crunchydata\.com_postgresclusters\.yaml/,
    );
    assert.match(runs, /PG_FEDERATION_PGO_CRD=/);
    // promtool for the alert rules (tests/unit/alertRules.test.ts), as .ci/run provides it.
    assert.match(runs, /go install github\.com\/prometheus\/prometheus\/cmd\/promtool@v\d+\.\d+\.\d+/);
    assert.match(ci, /shared\/promtool\/build/);
    // The same bytes as the copy the tests use here (../shared/crds/SOURCE.md gives its SHA-256).
    const sha = /([0-9a-f]{64}) {2}\$crd/.exec(runs)?.[1];
    assert.equal(sha, createHash('sha256').update(readFileSync(CRD_FILE)).digest('hex'));
  });

  it('previews every environment in the repo on pull requests with scripts/pr-preview.sh, commenting its report', function () {
    assert.ok(environments.length > 0);
    const preview = workflow.jobs.preview;
    assert.ok(preview);
    assert.match(preview.if ?? '', /pull_request/);
    assert.deepEqual([...(preview.strategy?.matrix.stack ?? [])].sort(), environments);
    const install = preview.steps.find((s) => s.uses?.startsWith('pulumi/actions'));
    assert.equal(install?.with, undefined, 'the action only installs the CLI');
    const runs = preview.steps.flatMap((s) => (s.run !== undefined ? [s.run] : []));
    assert.ok(runs.includes('scripts/pr-preview.sh "${{ matrix.stack }}" preview'), runs.join('\n'));
    assert.ok(
      runs.some((r) => r.includes('gh pr comment') && r.includes('preview/preview-${{ matrix.stack }}.md')),
    );
    assert.ok(existsSync(path.join(ROOT, 'scripts', 'pr-preview.sh')));
  });

  it('updates every environment from main', function () {
    const up = workflow.jobs.up;
    assert.ok(up);
    assert.match(up.if ?? '', /refs\/heads\/main/);
    assert.deepEqual([...(up.strategy?.matrix.stack ?? [])].sort(), environments);
    assert.equal(up.steps.find((s) => s.uses?.startsWith('pulumi/actions'))?.with?.command, 'up');
  });

  it('names secrets only by reference', function () {
    for (const step of steps) {
      for (const value of Object.values(step.env ?? {}))
        assert.match(value, /^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
    }
  });
});

describe('the Pulumi Kubernetes Operator manifest', function () {
  it('declares a Stack for an environment of this repo, with its token from a Secret', function () {
    const docs = loadAll(read('deploy/pulumi-kubernetes-operator/stack.yaml')) as Array<{
      apiVersion: string;
      kind: string;
      spec: {
        stack: string;
        serviceAccountName: string;
        envRefs: Record<string, { type: string; secret: { name: string } }>;
      };
    }>;
    const stack = docs.find((d) => d.kind === 'Stack');
    assert.equal(stack?.apiVersion, 'pulumi.com/v1');
    assert.ok(environments.includes(stack?.spec.stack ?? ''));
    assert.deepEqual(stack?.spec.envRefs.PULUMI_ACCESS_TOKEN?.type, 'Secret');
    const rbac = loadAll(read('deploy/pulumi-kubernetes-operator/rbac.yaml')) as Array<{
      kind: string;
      metadata: { name: string };
    }>;
    assert.ok(
      rbac.some((d) => d.kind === 'ServiceAccount' && d.metadata.name === stack?.spec.serviceAccountName),
    );
  });
});

describe('the README config reference', function () {
  it('lists exactly the keys the schema reads, and the secret passwords', function () {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Config reference'), readme.indexOf('Member keys:'));
    const listed = [...section.matchAll(/^\| `([A-Za-z]+)`/gm)].map((m) => m[1]).sort();
    assert.deepEqual(listed, [...CONFIG_KEYS, 'passwords'].sort());
  });
});
