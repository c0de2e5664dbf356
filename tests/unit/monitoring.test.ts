/**
 * The federation's monitoring as data: the exporter's queries (postgres_exporter's custom-query
 * YAML, by major), the alert rules (the shipped file is what the builder says), the ConfigMap and
 * PrometheusRule a stack declares, and the YAML writer both go through (read back by js-yaml as the
 * same data, unchanged by Prettier).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import * as prettier from 'prettier';
import {
  type ExporterQuery,
  exporterQueries,
  exporterQueriesYaml,
  metricName,
  queriesForMajor,
} from '../../components/monitoring/queries';
import { alertRules, alertRulesYaml, prometheusRuleManifest } from '../../components/monitoring/rules';
import { type YamlValue, toYaml } from '../../components/monitoring/yaml';
import { plan } from '../../components/plan';
import { parseFederationConfig } from '../../components/stackConfig';
import { RULES_FILE } from '../../scripts/monitoringRules';
import { SEED, T, byName, ofType, run } from '../support/graph';
import { problemsOf } from '../support/configProblems';

const ROOT = path.join(__dirname, '..', '..');
const MEMBER = { member: 'hippo-east', database: 'postgres', tables: [{ schema: 'public', name: 'hippos' }] };

async function prettierYaml(text: string): Promise<string> {
  const options = (await prettier.resolveConfig(path.join(ROOT, 'monitoring', 'x.yml'))) ?? {};
  return prettier.format(text, { ...options, parser: 'yaml' });
}

/** The PGO plans of a stack's members. */
function pgoPlans(raw: Record<string, unknown>) {
  return plan(parseFederationConfig(raw)).members.flatMap((m) => (m.server.kind === 'pgo' ? [m.server] : []));
}

describe('monitoring', function () {
  describe('the YAML writer', function () {
    const samples: Array<[string, YamlValue]> = [
      [
        'plain and quoted strings',
        { a: 'plain text', b: 'yes', c: '5m', d: '{{ $labels.x }}', e: "it's: here" },
      ],
      [
        'numbers, booleans and nesting',
        { n: 16777216, f: 0.8, t: true, list: [{ x: 1, y: ['a', 'b'] }, 'c'] },
      ],
      ['a literal block', { query: 'SELECT 1\n  FROM x\n WHERE y', kept: 'line\n' }],
      ['keys that need quotes', { 'a b': 1, 'queries.yml': 'x' }],
    ];
    for (const [what, value] of samples) {
      it(`writes ${what} that read back as the same data, as Prettier writes them`, async function () {
        const text = toYaml(value, ['a comment']);
        assert.deepEqual(load(text), value);
        assert.equal(await prettierYaml(text), text);
      });
    }

    it('refuses a multi-line string no literal block holds as it is', function () {
      assert.throws(() => toYaml({ q: 'SELECT 1 \nFROM x' }), /no literal block holds this text/);
    });
  });

  describe("the exporter's queries", function () {
    const queries = exporterQueries(MEMBER);

    it('names each metric namespace once, each column once, in the names Prometheus accepts', function () {
      assert.deepEqual(
        queries.map((q) => [q.namespace, q.minMajor]),
        [
          ['pg_federation_subscription', 14],
          ['pg_federation_slot', 14],
          ['pg_federation_subscription_stats', 15],
          ['pg_federation_subscription_conflicts', 18],
          ['pg_federation_partition', 14],
        ],
      );
      for (const q of queries) {
        const names = q.columns.map((c) => c.name);
        assert.equal(new Set(names).size, names.length, q.namespace);
        assert.equal(q.columns[0]?.name, 'member', `${q.namespace}: every row names its member`);
        for (const c of q.columns) {
          assert.match(c.name, /^[a-z_][a-z0-9_]*$/, `${q.namespace}.${c.name}`);
          assert.match(`${q.namespace}_${c.name}`, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
          assert.ok(c.description.length > 10, `${q.namespace}.${c.name} has a description`);
          // postgres_exporter names the column it reads by its name in the result.
          assert.match(
            q.sql,
            new RegExp(`(AS "?${c.name}"?\\b|\\bp\\.${c.name}\\b)`),
            `${q.namespace}.${c.name}`,
          );
        }
        assert.match(q.sql, /NOT pg_is_in_recovery\(\)/, `${q.namespace}: the primary only`);
      }
    });

    it('holds the queries of each major: errors from 15, conflicts from 18', function () {
      const namespaces = (major: number) => queriesForMajor(queries, major).map((q) => q.namespace);
      assert.deepEqual(namespaces(14), [
        'pg_federation_subscription',
        'pg_federation_slot',
        'pg_federation_partition',
      ]);
      for (const major of [15, 16, 17]) assert.equal(namespaces(major).length, 4, `${major}`);
      assert.equal(namespaces(18).length, 5);
    });

    it("writes postgres_exporter's custom-query file: query and metrics per namespace", async function () {
      const chosen = queriesForMajor(queries, 17);
      const text = exporterQueriesYaml(chosen, ['for hippo-east']);
      assert.equal(await prettierYaml(exporterQueriesYaml(queries)), exporterQueriesYaml(queries));
      assert.match(
        text,
        /^# for hippo-east\npg_federation_subscription:\n {2}query: \|-\n {4}SELECT 'hippo-east' AS member/,
      );
      const parsed = load(text) as Record<string, { query: string; metrics: Array<Record<string, unknown>> }>;
      assert.deepEqual(
        parsed,
        Object.fromEntries(
          chosen.map((q: ExporterQuery) => [
            q.namespace,
            {
              query: q.sql,
              metrics: q.columns.map((c) => ({ [c.name]: { usage: c.usage, description: c.description } })),
            },
          ]),
        ),
      );
    });

    it('quotes the member, database and tables it is given, and reads the rows of each table', function () {
      const [, , , , partitions] = exporterQueries({
        member: 'hippo-east',
        database: "o'db",
        tables: [
          { schema: 'public', name: 'hippos' },
          { schema: 'sales', name: 'orders' },
        ],
      });
      assert.match(partitions?.sql ?? '', /VALUES \('public', 'hippos'\), \('sales', 'orders'\)/);
      const [subscriptions] = exporterQueries({ ...MEMBER, database: "o'db" });
      assert.match(subscriptions?.sql ?? '', /WHERE datname = 'o''db'/);
    });

    it('gives a metric name only for a column a query declares as a metric', function () {
      assert.equal(metricName('pg_federation_slot', 'lag_bytes'), 'pg_federation_slot_lag_bytes');
      assert.throws(() => metricName('pg_federation_slot', 'slot'), /no metric column slot/);
      assert.throws(() => metricName('pg_federation_slot', 'lag'), /no metric column lag/);
    });
  });

  describe('the alert rules', function () {
    it('ships monitoring/federation-rules.yml as the builder writes it', function () {
      assert.equal(
        readFileSync(RULES_FILE, 'utf8'),
        alertRulesYaml(),
        'run npx ts-node --transpile-only scripts/monitoringRules.ts',
      );
      assert.deepEqual(load(readFileSync(RULES_FILE, 'utf8')), alertRules());
    });

    it('reads only metrics the queries give', function () {
      const declared = new Set(
        exporterQueries(MEMBER).flatMap((q) =>
          q.columns.filter((c) => c.usage !== 'LABEL').map((c) => `${q.namespace}_${c.name}`),
        ),
      );
      const rules = alertRules().groups.flatMap((g) => g.rules);
      assert.deepEqual(
        rules.map((r) => r.alert),
        [
          'PgFederationPairDown',
          'PgFederationLagging',
          'PgFederationSlotAtRisk',
          'PgFederationSlotLost',
          'PgFederationApplyErrors',
        ],
      );
      for (const rule of rules) {
        const used = rule.expr.match(/pg_federation_[a-z_]+/g) ?? [];
        assert.ok(used.length > 0, rule.alert);
        for (const metric of used) assert.ok(declared.has(metric), `${rule.alert}: ${metric}`);
      }
    });
  });

  describe('in the plan and the resource graph', function () {
    it("gives each PGO member with monitoring a ConfigMap of its major's queries, projected beside pgMonitor's", function () {
      const [east, west] = pgoPlans({
        members: [
          { name: 'hippo-east', postgresVersion: 14 },
          { name: 'hippo-west', postgresVersion: 18 },
        ],
      });
      assert.deepEqual(east?.queries?.metadata, {
        name: 'hippo-east-federation-queries',
        namespace: 'postgres-operator',
      });
      const text = east?.queries?.data['queries.yml'] ?? '';
      assert.equal(
        text,
        exporterQueriesYaml(queriesForMajor(exporterQueries(MEMBER), 14), [
          "pg-federation's queries for postgres_exporter: member hippo-east, PostgreSQL 14.",
          "From components/monitoring/queries.ts; PGO's exporter reads them after pgMonitor's own.",
        ]),
      );
      assert.deepEqual(Object.keys(load(text) as object), [
        'pg_federation_subscription',
        'pg_federation_slot',
        'pg_federation_partition',
      ]);
      assert.ok(
        'pg_federation_subscription_conflicts' in (load(west?.queries?.data['queries.yml'] ?? '') as object),
      );
      const exporter = (
        east?.cluster.manifest.spec.monitoring as { pgmonitor: { exporter: Record<string, unknown> } }
      ).pgmonitor.exporter;
      assert.deepEqual(exporter.configuration, [
        {
          configMap: {
            name: 'hippo-east-exporter-queries-config',
            items: [{ key: 'defaultQueries.yml', path: 'pgmonitor-queries.yml' }],
            optional: true,
          },
        },
        {
          configMap: {
            name: 'hippo-east-federation-queries',
            items: [{ key: 'queries.yml', path: 'queries.yml' }],
            optional: true,
          },
        },
      ]);
    });

    it('gives a member without monitoring neither the ConfigMap nor the projection', function () {
      const [east] = pgoPlans({ members: [{ name: 'hippo-east' }], monitoring: false });
      assert.equal(east?.queries, undefined);
      assert.equal(east?.cluster.manifest.spec.monitoring, undefined);
    });

    it('keeps the ConfigMaps of the others as they were when a member joins', function () {
      const before = pgoPlans({ members: SEED.map((name) => ({ name })) });
      const after = pgoPlans({ members: [...SEED, 'hippo-south'].map((name) => ({ name })) });
      for (const [i, p] of before.entries()) assert.deepEqual(after[i]?.queries, p.queries);
    });

    it('declares each ConfigMap before its cluster, in its namespace, and no PrometheusRule by default', async function () {
      const { resources } = await run(parseFederationConfig({ members: SEED.map((name) => ({ name })) }));
      for (const member of SEED) {
        const configMap = byName(resources, `${member}-federation-queries`, T.configMap);
        const cluster = byName(resources, member, T.cluster);
        assert.ok(cluster.dependencies.includes(configMap.urn), `${member}: the cluster after its queries`);
        assert.equal(configMap.parent, cluster.parent, 'both children of the member');
        assert.match(
          String((configMap.inputs.data as Record<string, string>)['queries.yml']),
          /^# pg-federation/,
        );
      }
      assert.equal(ofType(resources, T.prometheusRule).length, 0);
    });

    it('with prometheusRule, declares the rules once per namespace and context, under the Federation', async function () {
      const { resources } = await run(
        parseFederationConfig({
          prometheusRule: true,
          members: [
            { name: 'hippo-east' },
            { name: 'hippo-central' },
            { name: 'hippo-west', namespace: 'west', kubeContext: 'west-cluster' },
            { name: 'laptop', kind: 'external', host: '10.1.2.3' },
          ],
        }),
        { laptop: 'x' },
      );
      const rules = ofType(resources, T.prometheusRule);
      assert.deepEqual(
        rules.map((r) => [r.name, (r.inputs.metadata as { namespace: string }).namespace]),
        [
          ['pg-federation-rules-postgres-operator', 'postgres-operator'],
          ['pg-federation-rules-west-cluster-west', 'west'],
        ],
      );
      const federation = resources.find((r) => r.type === 'pg-federation:index:Federation');
      for (const rule of rules) {
        assert.equal(rule.parent, federation?.urn);
        assert.deepEqual(
          rule.inputs.spec,
          load(readFileSync(RULES_FILE, 'utf8')),
          'the rules file, as it is',
        );
        assert.deepEqual(rule.inputs, {
          ...prometheusRuleManifest(String((rule.inputs.metadata as { namespace: string }).namespace)),
        });
      }
    });

    it('refuses prometheusRule without monitoring, naming both keys', function () {
      assert.deepEqual(problemsOf({ members: [{ name: 'a' }], prometheusRule: true, monitoring: false }), [
        "pg-federation:prometheusRule: the alert rules read the metrics of PGO's exporter, which monitoring turns on; set monitoring: true, or prometheusRule: false",
      ]);
    });
  });
});
