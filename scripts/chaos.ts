/**
 * `npm run chaos -- [--runs N] [--seed S] [--minutes M] [--json FILE]`: the seeded fault campaign
 * (scripts/chaos/campaign.ts) on embedded servers through the Pulumi CLI, ending with its table.
 * Exit status 0 when every run converged with no row lost and no orphan, 1 otherwise, 2 bad usage.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pulumiOnPath } from './pulumiCli';
import { runCampaign } from './chaos/campaign';
import { summaryTable } from './chaos/table';

export const USAGE = `usage: npm run chaos -- [--runs N] [--seed S] [--minutes M] [--json FILE]
  --runs N      runs to make (default 10)
  --seed S      the schedule's seed (default 1): the same seed gives the same operations and faults
  --minutes M   start no run after M minutes (default 90)
  --json FILE   also write every run's result there
Needs the Pulumi CLI on PATH. Exit status: 0 every run converged, 1 not, 2 bad usage.`;

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new Error(`--${name} ${value}: expected a positive whole number`);
  return Number(value);
}

export async function runChaos(argv: string[]): Promise<number> {
  let opts: { runs: number; seed: number; minutes: number; json?: string };
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        seed: { type: 'string' },
        minutes: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
    if (values.help === true) {
      console.log(USAGE);
      return 0;
    }
    if (!pulumiOnPath())
      throw new Error('the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/)');
    opts = {
      runs: count(values.runs, 'runs', 10),
      seed: count(values.seed, 'seed', 1),
      minutes: count(values.minutes, 'minutes', 90),
      ...(values.json !== undefined ? { json: values.json } : {}),
    };
  } catch (err) {
    console.error(`pg-federation chaos: ${err instanceof Error ? err.message : String(err)} (see --help)`);
    return 2;
  }
  console.log(`chaos: seed ${opts.seed}, ${opts.runs} runs, at most ${opts.minutes} minutes`);
  const results = await runCampaign({ ...opts, log: (line) => console.log(line) });
  console.log(`\n${summaryTable(results)}`);
  if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
  const bad = results.filter((r) => !r.converged || r.rowsLost > 0 || r.orphans.length > 0);
  console.log(
    bad.length === 0
      ? `\nevery run converged (${results.length})`
      : `\n${bad.length} of ${results.length} runs did not converge`,
  );
  return bad.length === 0 ? 0 : 1;
}

if (require.main === module) {
  runChaos(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`pg-federation chaos: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
