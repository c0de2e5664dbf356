/**
 * The generated PostgresCluster manifests against the real PGO CRD (../shared/crds, PGO v5.8.9), and
 * the replication settings they carry.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { load } from 'js-yaml';
import { parseFederationConfig } from '../../components/stackConfig';
import { postgresClusterManifest } from '../../components/servers/pgoCluster';
import { replicationSettings } from '../../components/replicationSettings';
import { must } from '../support/must';

const CRD_FILE = path.join(
  __dirname,
  '..',
  '..',
  '..',
  'shared',
  'crds',
  'postgres-operator.crunchydata.com_postgresclusters.yaml',
);

interface Crd {
  spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Record<string, unknown> } }> };
}

/**
 * Kubernetes checks `pattern` with Go's RE2; translate its few constructs the CRD uses that
 * JavaScript lacks: POSIX classes, one-letter Unicode classes (\pZ) and scoped flags ((?i:…),
 * widened to the whole pattern, which only makes this test more permissive there).
 */
function re2ToJs(source: string, flags: string): RegExp {
  const posix: Record<string, string> = {
    print: '\\x20-\\x7E',
    alnum: 'a-zA-Z0-9',
    alpha: 'a-zA-Z',
    digit: '0-9',
  };
  let extra = '';
  const translated = source
    .replace(/\[:([a-z]+):\]/g, (_m, name: string) => {
      const cls = posix[name];
      if (cls === undefined) throw new Error(`untranslated POSIX class [:${name}:] in ${source}`);
      return cls;
    })
    .replace(/\\p([A-Z])/g, '\\p{$1}')
    .replace(/\(\?i:/g, () => {
      extra = 'i';
      return '(?:';
    });
  return new RegExp(translated, flags.includes(extra) ? flags : flags + extra);
}

function manifests(raw: Record<string, unknown>) {
  const cfg = parseFederationConfig(raw);
  return cfg.members.map((member) => {
    assert.equal(member.kind, 'pgo');
    return postgresClusterManifest({
      member,
      postgresVersion: cfg.postgresVersion,
      capacity: cfg.maxMembers,
      monitoring: cfg.monitoring,
    });
  });
}

describe('PostgresCluster manifests', function () {
  describe('against the real CRD', function () {
    let validate: ValidateFunction;
    before(function () {
      if (!existsSync(CRD_FILE)) {
        console.log(
          `    skipped: ${CRD_FILE} is absent (the CRD lives in the shared folder beside the repository)`,
        );
        this.skip();
      }
      const crd = load(readFileSync(CRD_FILE, 'utf8')) as Crd;
      const version = crd.spec.versions.find((v) => v.name === 'v1beta1');
      assert.ok(version, 'the CRD serves v1beta1');
      // Kubernetes' structural-schema keywords (x-kubernetes-*) are annotations to ajv; CEL rules
      // (x-kubernetes-validations) are not evaluated here.
      const ajv = new Ajv({
        strict: false,
        allErrors: true,
        validateFormats: false,
        code: { regExp: Object.assign(re2ToJs, { code: 'new RegExp' }) },
      });
      validate = ajv.compile(version.schema.openAPIV3Schema);
    });

    const stacks: Array<[string, Record<string, unknown>]> = [
      [
        'the seed (dev stack)',
        { members: [{ name: 'hippo-east' }, { name: 'hippo-central' }, { name: 'hippo-west' }] },
      ],
      [
        'with hippo-south and overrides',
        {
          members: [{ name: 'hippo-south', dataStorage: '20Gi', postgresImage: 'example/pg:16' }],
          postgresVersion: 16,
        },
      ],
      ['without monitoring', { members: [{ name: 'hippo-east' }], monitoring: false }],
      [
        'every PostgreSQL major 14 to 18 with its default images',
        { members: [14, 15, 16, 17, 18].map((v) => ({ name: `hippo-${v}`, postgresVersion: v })) },
      ],
    ];
    for (const [what, raw] of stacks) {
      it(`validates every generated manifest: ${what}`, function () {
        for (const manifest of manifests(raw)) {
          assert.ok(
            validate(manifest),
            `${manifest.metadata.name}: ${JSON.stringify(validate.errors, null, 1)}`,
          );
        }
      });
    }

    it('rejects a manifest the CRD rejects (the validator is live)', function () {
      const [manifest] = manifests({ members: [{ name: 'hippo-east' }] });
      assert.ok(manifest);
      const bad = structuredClone(manifest);
      const repos = (bad.spec.backups as { pgbackrest: { repos: Array<{ name: string }> } }).pgbackrest.repos;
      must(repos[0]).name = 'backup1';
      assert.equal(validate(bad), false);
      assert.match(JSON.stringify(validate.errors), /repos\/0\/name/);
    });
  });

  it('turns monitoring off without the exporter (and so without pgnodemx)', function () {
    const [manifest] = manifests({ members: [{ name: 'hippo-east' }], monitoring: false });
    assert.equal(manifest?.spec.monitoring, undefined);
  });

  it('sizes replication settings from maxMembers, not from the member count', function () {
    const three = manifests({ members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    const four = manifests({ members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }] });
    assert.deepEqual(
      three[0]?.spec,
      four[0]?.spec,
      'adding a member below capacity does not touch existing clusters',
    );
  });

  it('leaves room for every subscription and its table-sync workers at capacity', function () {
    for (const capacity of [2, 3, 5, 10, 30]) {
      const s = replicationSettings(capacity);
      const peers = capacity - 1;
      const syncing = peers * s.max_sync_workers_per_subscription;
      assert.ok(s.max_logical_replication_workers >= peers + syncing, `${capacity}: workers`);
      assert.ok(
        s.max_worker_processes > s.max_logical_replication_workers + s.max_parallel_workers,
        `${capacity}: processes`,
      );
      assert.ok(s.max_replication_slots >= peers + syncing, `${capacity}: slots (and replication origins)`);
      assert.ok(s.max_wal_senders >= peers + syncing, `${capacity}: WAL senders`);
    }
    assert.deepEqual(replicationSettings(10), {
      max_replication_slots: 31,
      max_wal_senders: 35,
      max_logical_replication_workers: 27,
      max_sync_workers_per_subscription: 2,
      max_worker_processes: 38,
      max_parallel_workers: 8,
    });
  });
});
