/**
 * `npm run status`: the health of every subscription and of every member's copy of every partition
 * (scripts/status/). Exits 0 when healthy, 1 when not, 2 on bad usage.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CommandError, LocalWorkspace, type Stack } from '@pulumi/pulumi/automation';
import { SSL_MODES, type SslMode } from '../components/enums';
import type { PgConnection } from '../components/providers/connection';
import { errorMessage } from '../components/providers/connection';
import { HEALTH_LIMITS } from '../components/monitoring/rules';
import { LOCAL_STACK } from './localServers';
import { openLocalStack } from './localStack';
import { configFromStack } from '../components/stackConfig';
import { engineErrors, pulumiOnPath } from './pulumiCli';
import { plan } from '../components/plan';
import { collect, publicationsOf, subscriptionsOf } from './status/collect';
import { renderReport } from './status/render';
import type { MemberEndpoint, Subscription, TableRef } from './status/types';

export const USAGE = `usage: npm run status -- (--stack NAME | --member NAME=HOST:PORT ...) [options]

  --stack NAME              read the members' connections from the stack's secret output
                            \`connections\` (needs the Pulumi CLI and the stack's backend; the
                            \`local\` stack of \`npm run local\` is found under .local/)
  --member NAME=HOST:PORT   (repeatable) connect to each member explicitly, with:
    --user USER             admin role (default postgres)
    --password-env VAR      environment variable holding its password (default PGPASSWORD)
    --database DB           database (default postgres)
    --sslmode MODE          disable, require, verify-ca or verify-full (default require)
    --table [SCHEMA.]NAME   (repeatable) federated table (default: the stack's tables, or public.hippos)
  --max-lag-bytes SIZE      a pair further behind is "lagging": bytes, or with a unit as
                            16MiB, 512KiB, 1GiB (default ${HEALTH_LIMITS.maxLagBytes / 2 ** 20}MiB)
  --slot-risk-percent N     a slot keeping more than N% of its publisher's WAL budget
                            (max_slot_wal_keep_size) is "at risk" of being lost (default ${HEALTH_LIMITS.slotRiskPercent})
  --json                    the report as JSON
  --help                    this text

Exit status: 0 healthy, 1 not healthy, 2 bad usage.`;

/** Bad usage: one line, exit status 2. */
class UsageError extends Error {}

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** `16MiB`, `512KiB`, `1GiB` or a plain number of bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  const unit = UNITS[match?.[2] ?? ''];
  if (match === null || unit === undefined) {
    throw new UsageError(`--max-lag-bytes ${text}: expected bytes or a size such as 16MiB, 512KiB, 1GiB`);
  }
  return Number(match[1]) * unit;
}

function tableRef(text: string): TableRef {
  const match = /^(?:([a-z_][a-z0-9_]*)\.)?([a-z_][a-z0-9_]*)$/.exec(text);
  if (match === null)
    throw new UsageError(`--table ${text}: expected NAME or SCHEMA.NAME (lowercase SQL names)`);
  return { schema: match[1] ?? 'public', name: match[2] as string };
}

async function openStack(name: string): Promise<Stack> {
  if (!pulumiOnPath()) {
    throw new UsageError(
      '--stack reads the stack through the Pulumi CLI, which is not on PATH: install it ' +
        '(https://www.pulumi.com/docs/install/) or name the members with --member',
    );
  }
  if (name === LOCAL_STACK) return openLocalStack();
  return LocalWorkspace.selectStack({ stackName: name, workDir: path.join(__dirname, '..') });
}

interface Source {
  members: MemberEndpoint[];
  tables: TableRef[];
  subscriptions?: Subscription[];
  publications?: Record<string, string>;
}

/** Each subscription's URN, from the stack's state (for the command that replaces one). */
async function withUrns(stack: Stack, subs: Subscription[]): Promise<Subscription[]> {
  const resources = ((await stack.exportStack()).deployment as { resources?: Array<{ urn: string }> })
    .resources;
  const urns = (resources ?? []).map((r) => r.urn);
  return subs.map((s) => {
    const urn = urns.find((u) => s.resourceName !== undefined && u.endsWith(`::${s.resourceName}`));
    return urn === undefined ? s : { ...s, urn };
  });
}

async function fromStack(name: string): Promise<Source> {
  const stack = await openStack(name);
  const outputs = await stack.outputs();
  const connections = outputs.connections?.value as Record<string, PgConnection> | undefined;
  if (connections === undefined) {
    throw new UsageError(`stack ${name} has no "connections" output; run pulumi up first`);
  }
  const config = configFromStack(await stack.getAllConfig());
  const tables = config.tables.map((spec) => ({ schema: config.schema, name: spec.name, spec }));
  const p = plan(config);
  return {
    members: Object.entries(connections).map(([n, connection]) => ({ name: n, connection })),
    tables,
    subscriptions: await withUrns(stack, subscriptionsOf(p)),
    publications: publicationsOf(p),
  };
}

function fromFlags(values: {
  member?: string[];
  user?: string;
  'password-env'?: string;
  database?: string;
  sslmode?: string;
}): MemberEndpoint[] {
  const sslmode = values.sslmode ?? 'require';
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new UsageError(`--sslmode ${sslmode}: expected one of ${SSL_MODES.join(', ')}`);
  }
  const passwordEnv = values['password-env'] ?? 'PGPASSWORD';
  const password = process.env[passwordEnv];
  if (password === undefined || password === '') {
    throw new UsageError(
      `set the members' password in $${passwordEnv} (or name another variable with --password-env)`,
    );
  }
  return (values.member ?? []).map((spec) => {
    const match = /^([a-z][-a-z0-9]*)=([^:\s]+):(\d{1,5})$/.exec(spec);
    if (match === null) throw new UsageError(`--member ${spec}: expected NAME=HOST:PORT`);
    const [, name, host, port] = match as unknown as [string, string, string, string];
    return {
      name,
      connection: {
        host,
        port: Number(port),
        database: values.database ?? 'postgres',
        user: values.user ?? 'postgres',
        password,
        sslmode: sslmode as SslMode,
      },
    };
  });
}

/** Run the status command with these arguments; resolves to the exit status. */
export async function runStatus(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        stack: { type: 'string' },
        member: { type: 'string', multiple: true },
        user: { type: 'string' },
        'password-env': { type: 'string' },
        database: { type: 'string' },
        sslmode: { type: 'string' },
        table: { type: 'string', multiple: true },
        'max-lag-bytes': { type: 'string' },
        'slot-risk-percent': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true) {
      console.log(USAGE);
      return 0;
    }
    if ((values.stack === undefined) === (values.member === undefined)) {
      throw new UsageError('give either --stack NAME or one --member NAME=HOST:PORT per member');
    }
    // The alert rules' limits too (components/monitoring/rules.ts).
    const maxLagBytes = parseSize(values['max-lag-bytes'] ?? String(HEALTH_LIMITS.maxLagBytes));
    const slotRiskPercent = Number(values['slot-risk-percent'] ?? String(HEALTH_LIMITS.slotRiskPercent));
    if (!Number.isInteger(slotRiskPercent) || slotRiskPercent < 1 || slotRiskPercent > 100) {
      throw new UsageError(
        `--slot-risk-percent ${values['slot-risk-percent'] ?? ''}: expected a whole number from 1 to 100`,
      );
    }
    const explicitTables = (values.table ?? []).map(tableRef);
    const source: Source =
      values.stack !== undefined
        ? await fromStack(values.stack)
        : { members: fromFlags(values), tables: [{ schema: 'public', name: 'hippos' }] };
    const report = await collect(source.members, {
      tables: explicitTables.length > 0 ? explicitTables : source.tables,
      maxLagBytes,
      slotRiskPercent,
      ...(source.subscriptions !== undefined ? { subscriptions: source.subscriptions } : {}),
      ...(source.publications !== undefined ? { publications: source.publications } : {}),
    });
    console.log(values.json === true ? JSON.stringify(report, null, 2) : renderReport(report));
    return report.healthy ? 0 : 1;
  } catch (err) {
    const usage = err instanceof UsageError || (err instanceof TypeError && 'code' in err);
    // The engine's own words for a failed CLI call (not of the Automation API's `code: -2` header).
    const message = err instanceof CommandError ? engineErrors(errorMessage(err)) : errorMessage(err);
    console.error(`pg-federation status: ${message.split('\n').join('; ')}${usage ? ' (see --help)' : ''}`);
    return 2;
  }
}

if (require.main === module) {
  runStatus(process.argv.slice(2)).then((code) => process.exit(code));
}
