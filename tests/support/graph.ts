/** The program's resource graph under Pulumi mocks, for the unit tests that read it. */
import { strict as assert } from 'node:assert';
import { Federation } from '../../components/federation';
import type { FederationConfig } from '../../components/stackConfig';
import { type Registered, installMocks, registered } from './mocks';

export const T = {
  cluster: 'kubernetes:postgres-operator.crunchydata.com/v1beta1:PostgresCluster',
  secretPatch: 'kubernetes:core/v1:SecretPatch',
  configMap: 'kubernetes:core/v1:ConfigMap',
  prometheusRule: 'kubernetes:monitoring.coreos.com/v1:PrometheusRule',
  provider: 'pulumi:providers:postgresql',
  extension: 'postgresql:index/extension:Extension',
  function: 'postgresql:index/function:Function',
  publication: 'postgresql:index/publication:Publication',
  partition: 'pulumi-nodejs:dynamic/pg-federation:Partition',
  subscription: 'pulumi-nodejs:dynamic/pg-federation:Subscription',
  table: 'pulumi-nodejs:dynamic/pg-federation:FederatedTable',
  preflight: 'pulumi-nodejs:dynamic/pg-federation:ServerCheck',
  role: 'postgresql:index/role:Role',
  grant: 'postgresql:index/grant:Grant',
  k8sProvider: 'pulumi:providers:kubernetes',
};

export const SEED = ['hippo-east', 'hippo-central', 'hippo-west'];
/** What the mocks' RandomPassword results look like (tests/support/mocks.ts), as a regex. */
export const MOCK_SECRET = 'mock-secret-[0-9a-f]{24}';

export async function run(config: FederationConfig, passwords: Record<string, string> = {}) {
  const resources = installMocks();
  const federation = new Federation('federation', { config, passwords });
  await registered(federation.resources());
  return { federation, resources };
}

export function ofType(resources: Registered[], type: string): Registered[] {
  return resources.filter((r) => r.type === type);
}

export function byName(resources: Registered[], name: string, type?: string): Registered {
  const found = resources.find((r) => r.name === name && (type === undefined || r.type === type));
  assert.ok(found, `resource ${name} ${type ?? ''} is registered`);
  return found;
}

export function counts(resources: Registered[]): Record<string, number> {
  return Object.fromEntries(Object.entries(T).map(([key, type]) => [key, ofType(resources, type).length]));
}
