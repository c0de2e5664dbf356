/** Whether the Pulumi CLI can be run here, and what to tell a user when it cannot. */
import { spawnSync } from 'node:child_process';

export const INSTALL_HINT =
  'the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh`) and run this again';

export function pulumiOnPath(): boolean {
  const probe = spawnSync('pulumi', ['version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}
