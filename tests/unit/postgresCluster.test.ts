/**
 * The generated PostgresCluster manifests against the real PGO CRD (PGO v5.8.9, tests/support/kube.ts), and
 * the replication settings they carry.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import Ajv, { type ValidateFunction } from 'ajv';
import { load } from 'js-yaml';
import { parseFederationConfig } from '../../components/stackConfig';
import { plan } from '../../components/plan';
import { replicationSettings, serverSettings } from '../../components/replicationSettings';
import { requireTool } from '../support/engine';
import { CRD_FILE } from '../support/kube';
import { must } from '../support/must';

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

/** The PostgresCluster manifests the plan holds for a stack's PGO members. */
function manifests(raw: Record<string, unknown>) {
  return plan(parseFederationConfig(raw)).members.flatMap((m) =>
    m.server.kind === 'pgo' ? [m.server.cluster.manifest] : [],
  );
}

describe('PostgresCluster manifests', function () {
  describe('against the real CRD', function () {
    let validate: ValidateFunction;
    before(function () {
      requireTool(
        this,
        existsSync(CRD_FILE),
        `the PGO CRD is not at ${CRD_FILE} (PG_FEDERATION_PGO_CRD names it; CI fetches it from PGO's repository)`,
      );
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

    it("validates the exporter's projections of pgMonitor's and the federation's queries, and rejects a broken one", function () {
      const [manifest] = manifests({ members: [{ name: 'hippo-east' }] });
      assert.ok(manifest);
      const exporter = (manifest.spec.monitoring as { pgmonitor: { exporter: Record<string, unknown> } })
        .pgmonitor.exporter;
      const projections = exporter.configuration as Array<{ configMap: { name: string } }>;
      assert.deepEqual(
        projections.map((p) => p.configMap.name),
        ['hippo-east-exporter-queries-config', 'hippo-east-federation-queries'],
      );
      assert.ok(validate(manifest), JSON.stringify(validate.errors));
      const bad = structuredClone(manifest);
      const badExporter = (bad.spec.monitoring as { pgmonitor: { exporter: Record<string, unknown> } })
        .pgmonitor.exporter;
      badExporter.configuration = [{ configMap: { name: 'x', items: [{ key: 'queries.yml' }] } }];
      assert.equal(validate(bad), false);
      assert.match(JSON.stringify(validate.errors), /configuration\/0\/configMap\/items\/0.*path/);
    });

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
    const withoutSlots = (m: ReturnType<typeof manifests>[number] | undefined) => {
      const spec = structuredClone(m?.spec) as { patroni: { dynamicConfiguration: { slots?: unknown } } };
      delete spec.patroni.dynamicConfiguration.slots;
      return spec;
    };
    for (const postgresVersion of [14, 17]) {
      const three = manifests({ postgresVersion, members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
      const four = manifests({
        postgresVersion,
        members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }],
      });
      // Adding a member below capacity restarts nothing: on 14-16 it adds its permanent slot, on 17+ nothing.
      assert.deepEqual(
        withoutSlots(three[0]),
        withoutSlots(four[0]),
        `${postgresVersion}: the rest is the same`,
      );
      if (postgresVersion >= 17) assert.deepEqual(three[0]?.spec, four[0]?.spec, '17+: nothing at all');
    }
  });

  it('keeps every subscriber’s slot through a failover: Patroni permanent slots before 17, failover slots from 17', function () {
    const dynamicOf = (raw: Record<string, unknown>) =>
      manifests(raw).map(
        (m) => (m.spec.patroni as { dynamicConfiguration: Record<string, unknown> }).dynamicConfiguration,
      );
    const [old] = dynamicOf({ members: [{ name: 'hippo-east' }, { name: 'hippo-west' }] });
    assert.deepEqual(old?.slots, {
      sub_hippo_west_hippo_east: { type: 'logical', database: 'postgres', plugin: 'pgoutput' },
    });
    const oldPostgresql = old?.postgresql as { use_slots: boolean; parameters: Record<string, unknown> };
    assert.equal(oldPostgresql.use_slots, true, 'Patroni keeps permanent slots only with use_slots');
    assert.equal(oldPostgresql.parameters.hot_standby_feedback, 'on');
    assert.equal(oldPostgresql.parameters.sync_replication_slots, undefined, 'not before 17');
    assert.equal(oldPostgresql.parameters.max_slot_wal_keep_size, '256MB', 'a quarter of the 1Gi volume');
    const [east] = dynamicOf({
      postgresVersion: 18,
      idleReplicationSlotTimeout: '7d',
      members: [
        { name: 'hippo-east' },
        { name: 'hippo-west' },
        { name: 'laptop', kind: 'external', host: 'db' },
      ],
    });
    // Its PGO peer uses a failover slot; the external member, whose major config does not say, a permanent one.
    assert.deepEqual(Object.keys(east?.slots ?? {}), ['sub_laptop_hippo_east']);
    const parameters = (east?.postgresql as { parameters: Record<string, unknown> }).parameters;
    assert.equal(parameters.sync_replication_slots, 'on');
    assert.equal(parameters.idle_replication_slot_timeout, '7d');
    assert.equal(
      parameters.synchronized_standby_slots,
      undefined,
      'it would have to name slots PGO names at random',
    );
  });

  it('runs the replicas asked for, and waits for all of them', function () {
    const [one] = manifests({ members: [{ name: 'hippo-east' }] });
    assert.equal(
      (one?.spec.instances as Array<Record<string, unknown>>)[0]?.replicas,
      undefined,
      'PGO’s default: 1',
    );
    assert.equal(
      one?.metadata.annotations['pulumi.com/waitFor'],
      'jsonpath={.status.instances[0].readyReplicas}=1',
    );
    const [two] = manifests({ replicas: 2, members: [{ name: 'hippo-east' }] });
    assert.equal((two?.spec.instances as Array<Record<string, unknown>>)[0]?.replicas, 2);
    assert.equal(
      two?.metadata.annotations['pulumi.com/waitFor'],
      'jsonpath={.status.instances[0].readyReplicas}=2',
    );
  });

  it('leaves room for every subscription and its table-sync workers at capacity', function () {
    for (const capacity of [2, 3, 5, 10, 11, 30]) {
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
      // PostgreSQL 18 counts origins apart (default 10): at 11 members a sync worker found none.
      assert.ok(s.max_active_replication_origins >= peers + syncing, `${capacity}: origins`);
      assert.equal(serverSettings(capacity, 17).max_active_replication_origins, undefined);
      assert.equal(
        serverSettings(capacity, 18).max_active_replication_origins,
        s.max_active_replication_origins,
      );
    }
    assert.deepEqual(replicationSettings(10), {
      max_replication_slots: 31,
      max_wal_senders: 35,
      max_logical_replication_workers: 27,
      max_sync_workers_per_subscription: 2,
      max_worker_processes: 38,
      max_parallel_workers: 8,
      max_active_replication_origins: 31,
    });
  });

  it("declares PostgreSQL 18's replication origins on 18 members only", function () {
    const origins = (postgresVersion: number) => {
      const [m] = manifests({ postgresVersion, members: [{ name: 'hippo-east' }] });
      const patroni = m?.spec.patroni as {
        dynamicConfiguration: { postgresql: { parameters: Record<string, unknown> } };
      };
      return patroni.dynamicConfiguration.postgresql.parameters.max_active_replication_origins;
    };
    assert.equal(origins(18), 31);
    assert.equal(origins(17), undefined);
  });
});
