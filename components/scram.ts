/**
 * SCRAM-SHA-256 verifiers in PostgreSQL's format (RFC 5802/7677, as `pg_authid.rolpassword` stores
 * them and PGO reads them from the user Secret's `verifier` key):
 *   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import saslprep from '@mongodb-js/saslprep';

/** PostgreSQL's default (`scram_iterations` is not settable before 16) and PGO's. */
export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;

/**
 * Normalize a password as PostgreSQL does (`pg_saslprep`): SASLprep when it succeeds, the raw
 * password otherwise (PostgreSQL falls back to the raw bytes for strings SASLprep rejects).
 */
export function normalizePassword(password: string): string {
  try {
    return saslprep(password);
  } catch {
    return password;
  }
}

/** The verifier for `password` with the given salt (base64, as in the verifier itself). */
export function scramSha256Verifier(
  password: string,
  saltBase64: string,
  iterations = SCRAM_ITERATIONS,
): string {
  const salt = Buffer.from(saltBase64, 'base64');
  if (salt.length === 0) throw new Error('SCRAM salt must be non-empty base64');
  const salted = pbkdf2Sync(normalizePassword(password), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
