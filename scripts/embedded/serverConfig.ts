/**
 * How this project configures an embedded PostgreSQL server, for the local job, the tests and the
 * benchmark alike: the settings a member of a mesh of `capacity` members needs (logical WAL and the
 * replication settings the program computes), pg_hba.conf (SCRAM; TCP over TLS only when TLS is on,
 * as PGO sets it up) and the server certificate.
 */
import { asServerFlags, serverSettings } from '../../components/replicationSettings';
import type { IssuedCertificate } from './certificates';
import { writeServerFile } from './postgres';

export const HBA = {
  /** TCP connections over TLS only (`hostssl`), as PGO's servers accept them. */
  tlsOnly:
    'local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n',
  plain:
    'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n',
};

export interface ServerSettingsOptions {
  /** Mesh capacity the replication settings are sized for (as the program's `maxMembers`). */
  capacity: number;
  /** The server's PostgreSQL major (18 has a setting of its own for replication origins). */
  major: number;
  tls: boolean;
  /** Extra `name=value` settings, or settings that replace the computed ones. */
  settings?: Record<string, string | number>;
}

/** The server's `-c name=value` flags. */
export function serverFlags(opts: ServerSettingsOptions): string[] {
  const settings: Record<string, string | number> = {
    wal_level: 'logical',
    ...serverSettings(opts.capacity, opts.major),
    ...(opts.tls ? { ssl: 'on' } : {}),
    ...opts.settings,
  };
  return asServerFlags(settings as never);
}

/** Serve this certificate (its key readable by the server's OS user only). */
export function installCertificate(dataDir: string, issued: IssuedCertificate): void {
  writeServerFile(dataDir, 'server.key', issued.key, 0o600);
  writeServerFile(dataDir, 'server.crt', issued.cert, 0o644);
}

/** pg_hba.conf for TLS-only or plain TCP connections. */
export function writeHba(dataDir: string, tls: boolean): void {
  writeServerFile(dataDir, 'pg_hba.conf', tls ? HBA.tlsOnly : HBA.plain);
}
