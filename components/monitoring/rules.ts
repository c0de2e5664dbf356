/**
 * Prometheus alert rules over the metrics of queries.ts: a pair down (its subscription disabled or
 * no apply worker), a pair lagging, a slot at risk of being lost, a slot lost, apply errors
 * increasing. One source for both the rules file shipped in the repository
 * (monitoring/federation-rules.yml, written by scripts/monitoringRules.ts, checked and unit-tested
 * with promtool) and the opt-in `PrometheusRule` (`prometheusRule: true`). The limits are status's
 * defaults (`npm run status`: --max-lag-bytes, --slot-risk-percent). Pure.
 */
import { WAL_STATUS_CODES, metricName } from './queries';
import { type YamlValue, toYaml } from './yaml';

/** What status and the alerts call unhealthy, by default. */
export const HEALTH_LIMITS = {
  /** A pair further behind is lagging. */
  maxLagBytes: 16 * 2 ** 20,
  /** A slot keeping more than this share of its publisher's WAL budget is at risk. */
  slotRiskPercent: 80,
};

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

export interface RuleGroups {
  groups: Array<{ name: string; rules: AlertRule[] }>;
}

const subscription = (column: string) => metricName('pg_federation_subscription', column);
const slot = (column: string) => metricName('pg_federation_slot', column);

/** The federation's alert rules, as a Prometheus rule file holds them. */
export function alertRules(): RuleGroups {
  const lagMiB = HEALTH_LIMITS.maxLagBytes / 2 ** 20;
  const risk = HEALTH_LIMITS.slotRiskPercent / 100;
  return {
    groups: [
      {
        name: 'pg-federation',
        rules: [
          {
            alert: 'PgFederationPairDown',
            expr: `(${subscription('enabled')} * ${subscription('worker_running')}) == 0`,
            for: '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Subscription {{ $labels.subscription }} on {{ $labels.member }} applies nothing',
              description:
                'It is disabled or has no apply worker, for 5 minutes: rows its publisher writes do not reach ' +
                '{{ $labels.member }}. npm run status names the cause and the fix.',
            },
          },
          {
            alert: 'PgFederationLagging',
            expr: `${slot('lag_bytes')} > ${HEALTH_LIMITS.maxLagBytes}`,
            for: '10m',
            labels: { severity: 'warning' },
            annotations: {
              summary:
                'Slot {{ $labels.slot }} on {{ $labels.member }} is more than ' + `${lagMiB}MiB behind`,
              description:
                'Its subscriber has not confirmed {{ $value | humanize1024 }}B of WAL for 10 minutes ' +
                '(the limit is the one npm run status uses).',
            },
          },
          {
            alert: 'PgFederationSlotAtRisk',
            expr:
              `${slot('wal_status')} == ${WAL_STATUS_CODES.unreserved} or ` +
              `(${slot('retained_bytes')} > ${risk} * ${slot('wal_budget_bytes')} and ${slot('wal_budget_bytes')} > 0)`,
            for: '1m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Slot {{ $labels.slot }} on {{ $labels.member }} may be lost',
              description:
                `It keeps more than ${HEALTH_LIMITS.slotRiskPercent}% of the server's WAL budget ` +
                '(max_slot_wal_keep_size), or its WAL is no longer reserved: bring its subscriber back ' +
                'before the budget runs out.',
            },
          },
          {
            alert: 'PgFederationSlotLost',
            expr: `${slot('lost')} == 1`,
            for: '0m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Slot {{ $labels.slot }} on {{ $labels.member }} is lost',
              description:
                'The WAL its subscriber needs is gone (past the WAL budget, or invalidated): the pair ' +
                'replicates nothing until pulumi up --refresh makes a new slot and copies afresh.',
            },
          },
          {
            alert: 'PgFederationApplyErrors',
            expr: `increase(${metricName('pg_federation_subscription_stats', 'apply_error_count')}[10m]) > 0`,
            for: '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Subscription {{ $labels.subscription }} on {{ $labels.member }} fails to apply',
              description:
                'Its apply worker failed {{ $value }} times in 10 minutes and restarts each time (a row ' +
                'conflicting with the publisher, or a refused login): npm run status names it.',
            },
          },
        ],
      },
    ],
  };
}

/** The rules file's text (monitoring/federation-rules.yml). */
export function alertRulesYaml(): string {
  return toYaml(alertRules() as unknown as YamlValue, [
    "pg-federation's Prometheus alert rules, over the metrics its queries give PGO's exporter.",
    'Written by scripts/monitoringRules.ts from components/monitoring/rules.ts: edit those, then run',
    'npx ts-node --transpile-only scripts/monitoringRules.ts (tests/unit/monitoring.test.ts checks it).',
  ]);
}

/** The alert rules as a Prometheus Operator `PrometheusRule` (monitoring.coreos.com/v1). */
export interface PrometheusRuleManifest {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: RuleGroups;
}

export function prometheusRuleManifest(namespace: string): PrometheusRuleManifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'pg-federation',
      namespace,
      labels: { 'app.kubernetes.io/name': 'pg-federation' },
    },
    spec: alertRules(),
  };
}
