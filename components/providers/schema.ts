/**
 * FederatedTable: the federated table, its DEFAULT partition and local-row routing on one member,
 * applied from `sql/table.sql`.
 *
 * The SQL text is an input, so a change to `sql/` shows in `pulumi preview` as an update. It is
 * idempotent and runs in one transaction under an advisory lock, so a re-run after a failure, or two
 * runs at once, converge. Delete never drops the table: it holds every member's rows.
 */
import * as pulumi from '@pulumi/pulumi';
import {
  type PgConnection,
  type ResourceArgs,
  errorMessage,
  inSchemaTransaction,
  report,
  withClient,
} from './connection';
import { FederationResource } from './resource';

export interface FederatedTableInputs {
  member: string;
  connection: PgConnection;
  schema: string;
  table: string;
  /** Rendered `sql/table.sql`. */
  sql: string;
}

export type FederatedTableOutputs = FederatedTableInputs;

async function apply(inputs: FederatedTableInputs): Promise<void> {
  try {
    await withClient(inputs.member, inputs.connection, (client) =>
      inSchemaTransaction(client, () => client.query(inputs.sql)),
    );
  } catch (err) {
    throw new Error(
      `table ${inputs.schema}.${inputs.table} on member "${inputs.member}": ${errorMessage(err, [inputs.connection.password])}`,
    );
  }
}

export const federatedTableProvider = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (typeof news.sql !== 'string' || news.sql.trim() === '') {
      failures.push({ property: 'sql', reason: 'sql must be the rendered sql/table.sql' });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const replaces = (['member', 'schema', 'table'] as const).filter((key) => olds[key] !== news[key]);
    const changed =
      olds.sql !== news.sql || JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes: replaces.length > 0 || changed, replaces };
  },

  async create(inputs) {
    await apply(inputs);
    return { id: `${inputs.member}/${inputs.schema}.${inputs.table}`, outs: inputs };
  },

  async update(_id, _olds, news) {
    await apply(news);
    return { outs: news };
  },

  async delete(_id, props) {
    report(
      `table ${props.schema}.${props.table} on member "${props.member}" is no longer managed and was kept with its rows; ` +
        `drop it by hand if it is no longer needed`,
    );
  },
} satisfies pulumi.dynamic.ResourceProvider<FederatedTableInputs, FederatedTableOutputs>;

export type FederatedTableArgs = ResourceArgs<FederatedTableInputs>;

/** The federated table on one member. */
export class FederatedTable extends FederationResource {
  constructor(name: string, args: FederatedTableArgs, opts?: pulumi.CustomResourceOptions) {
    super(federatedTableProvider, 'FederatedTable', name, args, ['connection'], opts);
  }
}
