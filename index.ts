/**
 * pg-federation: N PostgreSQL servers as one active-active federation, declared in stack config.
 * This program is one user of the component library in components/ (the package's entry,
 * components/index.ts): it reads the stack's config and exports what a user needs.
 */
import * as pulumi from '@pulumi/pulumi';
import { Federation, loadConfig } from './components';

const { config, passwords } = loadConfig();
const federation = new Federation('federation', { config, passwords });

/** Per member: admin and replication hosts, its publication and its subscriptions (no secrets). */
export const members = federation.summary;

/** Pulumi's admin connection to each member, for `npm run status -- --stack <name>` (a secret). */
export const connections = pulumi.secret(
  pulumi.all(Object.fromEntries([...federation.nodes].map(([name, node]) => [name, node.connection]))),
);
