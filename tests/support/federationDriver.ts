/**
 * The engine-less driver (scripts/embedded/driver.ts) as the integration tests use it: every
 * replication password it generates joins the passwords the secret scan looks for.
 */
import { type DriverServers, PlanDriver } from '../../scripts/embedded/driver';
import { GENERATED_SECRETS } from './secrets';

export { configFor } from '../../scripts/embedded/driver';

export class FederationDriver extends PlanDriver {
  constructor(servers: DriverServers) {
    super(servers, (secret) => GENERATED_SECRETS.add(secret));
  }
}
