/**
 * The federation the fault campaign works on: four embedded servers (three founding members and a
 * spare that joins and leaves), a stack of external members on a file backend in a temporary folder,
 * and the Pulumi CLI run on it as a user runs it. Nothing here writes a file of the repository.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SEED_TABLE, type TableSpec } from '../../components/config/tables';
import { SERVER_PASSWORD, ServerSet, type TestServer } from '../embedded/serverSet';
import { writeWorkspace } from '../workspace';
import { type PulumiCommand, type PulumiRun, pulumi } from './pulumiRun';

export const FOUNDERS = ['hippo-east', 'hippo-central', 'hippo-west'];
export const SPARE = 'hippo-south';
export const STACK = 'chaos';
const PASSWORDS_KEY = 'pg-federation:passwords';

export class FederationUnderTest {
  /** The members the stack config lists now. */
  members: string[] = [...FOUNDERS];
  /** Columns added to the seed's table so far (c1, c2, …): the shape changes. */
  extraColumns = 0;

  private constructor(
    readonly set: ServerSet,
    readonly dir: string,
    readonly cmd: PulumiCommand,
  ) {}

  static async start(major?: number): Promise<FederationUnderTest> {
    const set = await ServerSet.start([...FOUNDERS, SPARE], major !== undefined ? { major } : {});
    const dir = mkdtempSync(path.join(tmpdir(), 'pg-federation-chaos-'));
    mkdirSync(path.join(dir, 'state'));
    const cmd: PulumiCommand = {
      cwd: path.join(dir, 'workspace'),
      env: {
        PULUMI_BACKEND_URL: `file://${path.join(dir, 'state')}`,
        PULUMI_CONFIG_PASSPHRASE: randomBytes(12).toString('hex'),
        PULUMI_SKIP_UPDATE_CHECK: 'true',
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
        PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
        PG_FEDERATION_CA_DIR: path.join(dir, 'ca'),
      },
    };
    const f = new FederationUnderTest(set, dir, cmd);
    f.writeConfig();
    await f.must(['stack', 'init', '--secrets-provider', 'passphrase']);
    for (const name of [...FOUNDERS, SPARE]) {
      // The value on stdin, never on a command line.
      await f.must(['config', 'set', '--secret', '--path', `passwords["${name}"]`], SERVER_PASSWORD);
    }
    return f;
  }

  server(name: string): TestServer {
    return this.set.get(name);
  }

  /** The servers of the members listed now. */
  memberServers(): TestServer[] {
    return this.members.map((m) => this.server(m));
  }

  table(extraColumns = this.extraColumns): TableSpec {
    return {
      ...SEED_TABLE,
      columns: [
        ...SEED_TABLE.columns,
        ...Array.from({ length: extraColumns }, (_, i) => ({
          name: `c${i + 1}`,
          type: 'text',
          notNull: false,
        })),
      ],
    };
  }

  /** The stack config, as a user writes it (members by endpoint; passwords kept as set). */
  rawConfig(members = this.members, extraColumns = this.extraColumns): Record<string, unknown> {
    return {
      'pg-federation:syncTimeoutSeconds': 120,
      'pg-federation:tables': [this.table(extraColumns)],
      'pg-federation:members': members.map((name) => ({
        name,
        kind: 'external',
        host: '127.0.0.1',
        port: this.server(name).port,
        sslmode: 'disable',
      })),
    };
  }

  writeConfig(): void {
    writeWorkspace(this.cmd.cwd, STACK, this.rawConfig(), [PASSWORDS_KEY]);
  }

  /** Run a CLI command on the stack. */
  run(args: string[], input?: string): Promise<PulumiRun> {
    return pulumi(this.cmd, [...args, '--stack', STACK], input);
  }

  /** Run a CLI command on the stack; fail with the end of its output unless it succeeds. */
  async must(args: string[], input?: string): Promise<PulumiRun> {
    const result = await this.run(args, input);
    if (result.code !== 0) {
      throw new Error(
        `pulumi ${args.join(' ')} exited ${String(result.code)}: ${result.output.slice(-2000)}`,
      );
    }
    return result;
  }

  /** The URN of a resource of the stack, by its name. */
  async urnOf(name: string): Promise<string> {
    const exported = await this.must(['stack', 'export']);
    const state = JSON.parse(exported.stdout) as { deployment: { resources?: Array<{ urn: string }> } };
    const found = state.deployment.resources?.find((r) => r.urn.endsWith(`::${name}`));
    if (found === undefined) throw new Error(`the stack has no resource named ${name}`);
    return found.urn;
  }

  /** Destroy what is left, stop the servers, remove the folder. */
  async stop(): Promise<void> {
    await this.run(['cancel', '--yes']).catch(() => undefined);
    await this.run(['destroy', '--yes', '--skip-preview']).catch(() => undefined);
    await this.set.stopAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
