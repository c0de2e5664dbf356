/**
 * How Pulumi reaches a member (admin connection) and how the other members' subscriptions reach it
 * (replication conninfo).
 */
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import type { MemberBase } from './config/types';
import { type ConnectionArgs, type PgConnection, conninfo } from './providers/connection';

/** Pulumi's admin connection to `member`. `ca` is the PEM of the CA behind the member's certificate. */
export function adminConnection(
  member: MemberBase,
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
 * The same as resource inputs, field by field: only the password (and a CA not read yet) may be
 * unknown in a preview, so a new password updates what uses the connection instead of replacing it.
 */
export function adminConnectionArgs(
  member: MemberBase,
  database: string,
  password: pulumi.Input<string>,
  ca?: pulumi.Input<string>,
): ConnectionArgs {
  return {
    host: member.admin.host,
    port: member.admin.port,
    database,
    user: member.user,
    password: pulumi.secret(password),
    sslmode: member.admin.sslmode,
    ...(ca !== undefined ? { ca } : {}),
  };
}

/** The CA file a member's `sslrootcert` names, with an error that says which key to fix. */
export function readCaFile(member: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new pulumi.RunError(
      `member "${member}": sslrootcert ${file} cannot be read (${err instanceof Error ? err.message : String(err)}); ` +
        `point pg-federation:members[].sslrootcert at the PEM of the CA that signed its server certificate`,
    );
  }
}

/**
 * The libpq conninfo a subscriber's server uses to reach `publisher`: the seed's
 * `dbname=postgres host=<publisher>-primary.<ns>.svc user=… password=… sslrootcert=/pgconf/tls/ca.crt
 * sslmode=verify-full` on PGO, with a bounded connect timeout so an unreachable publisher fails fast.
 */
export function replicationConninfo(
  publisher: MemberBase,
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
