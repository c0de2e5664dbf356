/**
 * `npm run status -- --stack <name>` or `npm run status -- --member hippo-east=127.0.0.1:55431 ...`:
 * the health of every subscription and the row counts on every member (scripts/statusReport.ts).
 * Exits 0 when healthy, 1 when any pair is broken or lagging or the counts differ, 2 on bad usage.
 *
 * --stack NAME          read the members' connections from the stack (its secret output
 *                       `connections`; needs the Pulumi CLI and the stack's backend/passphrase env)
 * --member NAME=HOST:PORT   (repeatable) connect explicitly; with --user (default postgres),
 *                       --password-env (default PGPASSWORD), --database (postgres), --sslmode (require)
 * --table NAME          the federated table (default hippos, or the stack's)
 * --max-lag-bytes N     a pair further behind is "lagging" (default 16 MiB)
 * --json                the report as JSON
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalWorkspace } from '@pulumi/pulumi/automation';
import type { PgConnection, SslMode } from '../components/providers/connection';
import { errorMessage } from '../components/providers/connection';
import { type MemberEndpoint, collect, renderReport } from './statusReport';

const USAGE =
  'usage: npm run status -- (--stack NAME | --member NAME=HOST:PORT ...) [--user U] [--password-env VAR] ' +
  '[--database DB] [--sslmode MODE] [--table T] [--max-lag-bytes N] [--json]';

async function fromStack(stackName: string): Promise<{ members: MemberEndpoint[]; table?: string }> {
  const stack = await LocalWorkspace.selectStack({ stackName, workDir: path.join(__dirname, '..') });
  const outputs = await stack.outputs();
  const connections = outputs.connections?.value as Record<string, PgConnection> | undefined;
  if (connections === undefined)
    throw new Error(`stack ${stackName} has no "connections" output; run pulumi up first`);
  const table = (await stack.getAllConfig())['pg-federation:table']?.value;
  return {
    members: Object.entries(connections).map(([name, connection]) => ({ name, connection })),
    ...(table !== undefined ? { table } : {}),
  };
}

function fromFlags(values: {
  member?: string[];
  user?: string;
  'password-env'?: string;
  database?: string;
  sslmode?: string;
}): MemberEndpoint[] {
  const password = process.env[values['password-env'] ?? 'PGPASSWORD'] ?? '';
  return (values.member ?? []).map((spec) => {
    const match = /^([a-z][-a-z0-9]*)=([^:]+):(\d+)$/.exec(spec);
    if (match === null) throw new Error(`--member ${spec}: expected NAME=HOST:PORT`);
    const [, name, host, port] = match as unknown as [string, string, string, string];
    return {
      name,
      connection: {
        host,
        port: Number(port),
        database: values.database ?? 'postgres',
        user: values.user ?? 'postgres',
        password,
        sslmode: (values.sslmode ?? 'require') as SslMode,
      },
    };
  });
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: 'string' },
        member: { type: 'string', multiple: true },
        user: { type: 'string' },
        'password-env': { type: 'string' },
        database: { type: 'string' },
        sslmode: { type: 'string' },
        table: { type: 'string' },
        'max-lag-bytes': { type: 'string' },
        json: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  if ((values.stack === undefined) === (values.member === undefined)) {
    console.error(USAGE);
    return 2;
  }
  const source = values.stack !== undefined ? await fromStack(values.stack) : { members: fromFlags(values) };
  const report = await collect(source.members, {
    table: values.table ?? ('table' in source && source.table !== undefined ? source.table : 'hippos'),
    maxLagBytes: Number(values['max-lag-bytes'] ?? 16 * 1024 * 1024),
  });
  console.log(values.json === true ? JSON.stringify(report, null, 2) : renderReport(report));
  return report.healthy ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`pg-federation status: ${errorMessage(err)}`);
    process.exit(2);
  },
);
