/**
 * pg-federation: N PostgreSQL servers as one active-active federation, declared in stack config.
 * Everything lives in components/; this file reads the config and exports what a user needs.
 */
import * as pulumi from '@pulumi/pulumi';
import { loadConfig } from './components/stackConfig';
import { Federation } from './components/federation';

const { config, passwords } = loadConfig();
const federation = new Federation('federation', { config, passwords });

/** Per member: admin and replication hosts, its publication and its subscriptions (no secrets). */
export const members = federation.summary;

/** Pulumi's admin connection to each member, for `npm run status -- --stack <name>` (a secret). */
export const connections = pulumi.secret(
  pulumi.all(Object.fromEntries([...federation.nodes].map(([name, node]) => [name, node.connection]))),
);
