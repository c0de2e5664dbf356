/** Whether the Pulumi CLI can be run here, and what to tell a user when it cannot. */
import { spawnSync } from 'node:child_process';

export const INSTALL_HINT =
  'the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh`) and run this again';

export function pulumiOnPath(): boolean {
  const probe = spawnSync('pulumi', ['version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

/**
 * What the engine said went wrong, each error once: the `error:` lines of a CLI run's output (the
 * engine prints a resource's error in its progress line, its diagnostics and its summary). Without
 * any, the first line of the output. The Automation API's errors carry the output in their message.
 */
export function engineErrors(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /\berror:/.test(l))
    .map((l) => l.replace(/^.*?\berror: /, 'error: '));
  if (lines.length > 0) return [...new Set(lines)].join('\n');
  return (
    output
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !/^(code: -?\d+|stdout:|stderr:)$/.test(l)) ?? output.trim()
  );
}
