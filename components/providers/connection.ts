/**
 * Connections used by the dynamic providers: Pulumi's own admin connection to a member, the libpq
 * conninfo a subscriber uses to reach its publisher, and redaction for every message.
 *
 * This module is serialized by value into each dynamic provider (it is imported at the top of the
 * provider files), so it imports no npm module at top level: `pg` is required inside `withClient`.
 */
import type { Input } from '@pulumi/pulumi';
import type { Client, ClientConfig } from 'pg';
import type { SslMode } from '../enums';
import { transactions } from './sql/transactions';

/** An input value, or for an object, an object of input values (so that each field stays known or not on its own). */
export type DeepInput<T> = [NonNullable<T>] extends [Array<infer E>]
  ? Input<T> | Array<DeepInput<E>>
  : [NonNullable<T>] extends [object]
    ? Input<T> | { [K in keyof NonNullable<T>]: DeepInput<NonNullable<T>[K]> }
    : Input<T>;

/** A dynamic resource's arguments: its provider's inputs, each of which may be a Pulumi Input. */
export type ResourceArgs<T> = { [K in keyof T]: DeepInput<T[K]> };

/** A connection as resource inputs, field by field: in a preview, an unknown password leaves the rest known. */
export type ConnectionArgs = { [K in keyof PgConnection]: Input<PgConnection[K]> };

/** Pulumi's admin connection to one member. Always passed to providers as a secret. */
export interface PgConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: SslMode;
  /** PEM of the CA that signed the server certificate (for verify-ca / verify-full). */
  ca?: string;
}

/** `user@host:port/database`: safe to print. */
export function describeConnection(conn: Pick<PgConnection, 'user' | 'host' | 'port' | 'database'>): string {
  return `${conn.user}@${conn.host}:${conn.port}/${conn.database}`;
}

/** node-postgres settings for a connection, TLS as libpq's sslmode would do it. */
export function clientConfig(conn: PgConnection, applicationName = 'pg-federation'): ClientConfig {
  const base: ClientConfig = {
    host: conn.host,
    port: conn.port,
    database: conn.database,
    user: conn.user,
    password: conn.password,
    application_name: applicationName,
    connectionTimeoutMillis: 15_000,
  };
  switch (conn.sslmode) {
    case 'disable':
      return { ...base, ssl: false };
    case 'require':
      return { ...base, ssl: { rejectUnauthorized: false } };
    case 'verify-ca':
      return { ...base, ssl: { ca: conn.ca, checkServerIdentity: () => undefined } };
    case 'verify-full':
      return { ...base, ssl: conn.ca !== undefined ? { ca: conn.ca } : true };
  }
}

/** One libpq conninfo value, quoted as libpq reads it: single quotes, `\` escapes `'` and `\`. */
export function conninfoValue(value: string | number): string {
  return `'${String(value).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A libpq keyword/value conninfo string; undefined values are left out. */
export function conninfo(params: Record<string, string | number | undefined>): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${conninfoValue(value)}`)
    .join(' ');
}

/**
 * Remove secrets from text before it is printed or thrown: every given secret, the value of any
 * `password=` conninfo keyword, and the password of any `scheme://user:password@` URI.
 */
export function redact(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out
    .replace(/(password\s*=\s*)('(?:\\.|[^'\\])*'|[^\s']+)/gi, '$1***')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@');
}

/** The message of anything thrown, redacted. */
export function errorMessage(err: unknown, secrets: Array<string | undefined> = []): string {
  const message = err instanceof Error ? err.message : String(err);
  return redact(message, secrets);
}

/**
 * Run `fn` with a connected client and always close it. Connection failures become a clear,
 * redacted error naming the member and endpoint.
 */
export async function withClient<T>(
  member: string,
  conn: PgConnection,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connectClient(member, conn);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * How long a refused password is tried again: a password just rotated (PGO applies a new verifier
 * from the user Secret on its own schedule) is accepted within seconds. PG_FEDERATION_AUTH_WAIT_SECONDS
 * overrides it.
 */
function authWaitMs(): number {
  const seconds = Number(process.env.PG_FEDERATION_AUTH_WAIT_SECONDS ?? 30);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 30_000;
}

async function connectClient(member: string, conn: PgConnection): Promise<Client> {
  const pg: typeof import('pg') = require('pg');
  const deadline = Date.now() + authWaitMs();
  for (;;) {
    const client = new pg.Client(clientConfig(conn));
    // An idle client's socket error must not crash the provider process; the query that follows fails.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      const refused = (err as { code?: string }).code === '28P01';
      if (refused && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      const message = errorMessage(err, [conn.password]);
      const hint = tlsHint(`${(err as { code?: string }).code ?? ''} ${message}`, 'sslrootcert');
      throw unreachable(
        member,
        `cannot connect to member "${member}" at ${describeConnection(conn)} (sslmode=${conn.sslmode}): ${message}` +
          (refused
            ? ` (tried for ${Math.round(authWaitMs() / 1000)} s, in case a new password was still being applied)`
            : '') +
          (hint !== undefined ? `; ${hint}` : ''),
      );
    }
  }
}

/**
 * What a TLS failure means and how to fix it, in one clause, from a client error (node-postgres
 * here, or libpq on a subscriber's server). `caKey` names the config key that points at the CA.
 */
export function tlsHint(error: string, caKey: 'sslrootcert' | 'replicationSslrootcert'): string | undefined {
  if (
    /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|DEPTH_ZERO_SELF_SIGNED|self[- ]signed certificate|unable to (get local issuer|verify the first) certificate|certificate verify failed/i.test(
      error,
    )
  ) {
    return `the server's certificate is not signed by the CA in ${caKey}: point members[].${caKey} at the CA that signed it`;
  }
  if (
    /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames|does not match host name/i.test(error)
  ) {
    return `the server's certificate does not name the host connected to: use a host name the certificate carries, or sslmode verify-ca (which checks the CA, not the name)`;
  }
  if (/CERT_HAS_EXPIRED|certificate has expired|certificate expired/i.test(error)) {
    return "the server's certificate has expired: renew it (a new certificate from the same CA needs no config change)";
  }
  if (/does not support SSL|server does not support SSL/i.test(error)) {
    return 'the server does not offer TLS: turn on ssl there, or lower sslmode (require at least encrypts)';
  }
  if (/no pg_hba\.conf entry .* no encryption/i.test(error)) {
    return 'the server accepts TLS connections only: set sslmode to require, verify-ca or verify-full';
  }
  return undefined;
}

/**
 * A member's server could not be reached (as opposed to a statement that failed on it): an Error
 * named `Unreachable` that carries the member. Not a subclass of Error: Pulumi's serialization of a
 * dynamic provider rebuilds a `class … extends Error` without Error's construction, so its
 * instances lose their message and stack (the engine then prints "Unknown Error"; shown by
 * tests/unit/serialization.test.ts).
 */
export type Unreachable = Error & { readonly name: 'Unreachable'; readonly member: string };

export function unreachable(member: string, message: string): Unreachable {
  return Object.assign(new Error(message), { name: 'Unreachable' as const, member });
}

export function isUnreachable(err: unknown): err is Unreachable {
  return (
    err instanceof Error &&
    err.name === 'Unreachable' &&
    typeof (err as { member?: unknown }).member === 'string'
  );
}

/** Run `fn`; anything it throws comes back as one redacted error prefixed with `where`. */
export async function explained<T>(
  where: string,
  secrets: Array<string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = `${where}: ${errorMessage(err, secrets)}`;
    throw isUnreachable(err) ? unreachable(err.member, message) : new Error(message);
  }
}

/**
 * The stack config the dynamic providers read (Pulumi hands it to `configure`): the members listed
 * in `pg-federation:lostMembers`, whose servers are gone for good.
 */
const federationSettings = { lostMembers: new Set<string>() };

/** Every provider's `configure`. */
export async function configureProvider(req: {
  config: { get(key: string): string | undefined };
}): Promise<void> {
  const text = req.config.get('pg-federation:lostMembers');
  let lost: unknown = [];
  try {
    lost = text === undefined ? [] : JSON.parse(text);
  } catch {
    lost = [];
  }
  federationSettings.lostMembers = new Set(Array.isArray(lost) ? lost.map(String) : []);
}

/** Whether the config says this member's server is gone for good. */
export function isLost(member: string): boolean {
  return federationSettings.lostMembers.has(member);
}

/** Print a message where `pulumi up` shows it (dynamic providers' stderr reaches the CLI). */
export function report(message: string): void {
  console.warn(`warning: pg-federation: ${message}`);
}

/** Serializes the federation's DDL on one server: concurrent partition DDL on one table deadlocks. */
const SCHEMA_LOCK_KEY = 'pg-federation:schema';

/**
 * Run `fn` in a transaction: committed when it returns, rolled back when it throws. With
 * `schemaLock`, the transaction first takes the federation's schema lock (an advisory transaction
 * lock), so the engine's parallel creates, a re-run racing a retry or two `pulumi up` at once take
 * turns at DDL.
 */
export async function inTransaction<T>(
  client: Client,
  fn: () => Promise<T>,
  opts: { schemaLock?: boolean } = {},
): Promise<T> {
  await client.query(transactions.begin);
  try {
    if (opts.schemaLock === true) await client.query(transactions.lock, [SCHEMA_LOCK_KEY]);
    const result = await fn();
    await client.query(transactions.commit);
    return result;
  } catch (err) {
    await client.query(transactions.rollback).catch(() => undefined);
    throw err;
  }
}
