/**
 * How Pulumi reaches a member (admin connection) and how the other members' subscriptions reach it
 * (replication conninfo). Plain values in, plain values out; the program lifts them with apply.
 */
import type { MemberConfig } from './config';
import { type PgConnection, conninfo } from './providers/connection';

/** Pulumi's admin connection to `member`. `ca` is the PEM of the CA behind the member's certificate. */
export function adminConnection(
  member: MemberConfig,
  database: string,
  password: string,
  ca?: string,
): PgConnection {
  return {
    host: member.admin.host,
    port: member.admin.port,
    database,
    user: member.user,
    password,
    sslmode: member.admin.sslmode,
    ...(ca !== undefined ? { ca } : {}),
  };
}

/**
 * The libpq conninfo a subscriber's server uses to reach `publisher`: the seed's
 * `dbname=postgres host=<publisher>-primary.<ns>.svc user=postgres password=… sslrootcert=/pgconf/tls/ca.crt
 * sslmode=verify-full` on PGO, with a bounded connect timeout so an unreachable publisher fails fast.
 */
export function replicationConninfo(
  publisher: MemberConfig,
  database: string,
  user: string,
  password: string,
): string {
  return conninfo({
    dbname: database,
    host: publisher.replication.host,
    port: publisher.replication.port,
    user,
    password,
    sslrootcert: publisher.replication.sslrootcert,
    sslmode: publisher.replication.sslmode,
    connect_timeout: 10,
  });
}
