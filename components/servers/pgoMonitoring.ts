/**
 * What a PGO member with `monitoring` adds for the federation's own monitoring: the ConfigMap of the
 * queries of its major for PGO's exporter (components/monitoring/queries.ts), which its
 * PostgresCluster projects (servers/pgoCluster.ts), and with `prometheusRule` the alert rules
 * (components/monitoring/rules.ts) as a PrometheusRule in its namespace, one per namespace and
 * kubeconfig context, whichever member there comes first.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { exporterQueries, exporterQueriesYaml, queriesForMajor } from '../monitoring/queries';
import { type PrometheusRuleManifest, prometheusRuleManifest } from '../monitoring/rules';
import type { ProvisionArgs, ServerContext } from './kind';
import { federationQueriesConfigMap } from './pgoNames';

/** The ConfigMap of a member's queries. */
export interface QueriesRecord {
  resourceName: string;
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}

/** The PrometheusRule of a namespace: the same record for every member there. */
export interface PrometheusRuleRecord {
  resourceName: string;
  manifest: PrometheusRuleManifest;
}

interface Member {
  name: string;
  namespace: string;
  kubeContext?: string;
  postgresVersion: number;
}

export function queriesRecord(member: Member, context: ServerContext): QueriesRecord {
  const configMap = federationQueriesConfigMap(member.name);
  const queries = queriesForMajor(
    exporterQueries({ member: member.name, database: context.database, tables: context.tables }),
    member.postgresVersion,
  );
  return {
    resourceName: configMap.name,
    metadata: { name: configMap.name, namespace: member.namespace },
    data: {
      [configMap.key]: exporterQueriesYaml(queries, [
        `pg-federation's queries for postgres_exporter: member ${member.name}, PostgreSQL ${member.postgresVersion}.`,
        "From components/monitoring/queries.ts; PGO's exporter reads them after pgMonitor's own.",
      ]),
    },
  };
}

export function prometheusRuleRecord(member: Member): PrometheusRuleRecord {
  return {
    resourceName: [
      'pg-federation-rules',
      ...(member.kubeContext !== undefined ? [member.kubeContext] : []),
      member.namespace,
    ].join('-'),
    manifest: prometheusRuleManifest(member.namespace),
  };
}

/** The queries' ConfigMap, beside the cluster (same parent and provider). */
export function declareQueries(
  record: QueriesRecord,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(
    record.resourceName,
    { metadata: record.metadata, data: record.data },
    opts,
  );
}

/**
 * The PrometheusRule of a namespace (and context), declared by the first of its members (undefined
 * for the others), its parent the Federation.
 */
export function prometheusRuleFor(
  record: PrometheusRuleRecord | undefined,
  args: ProvisionArgs,
  provider: k8s.Provider | undefined,
): k8s.apiextensions.CustomResource | undefined {
  if (record === undefined) return undefined;
  const key = `prometheusRule:${record.resourceName}`;
  if (args.shared.has(key)) return undefined;
  const rule = new k8s.apiextensions.CustomResource(record.resourceName, record.manifest, {
    parent: args.federation,
    ...(provider !== undefined ? { provider } : {}),
  });
  args.shared.set(key, rule);
  return rule;
}
