/**
 * Certificates for TLS on local servers (`npm run local` with TLS on, and the tests), made with
 * openssl: a CA, and server certificates it signs for the loopback endpoints (or, for tests, for
 * names that do not match, or already expired). The CA file is readable by every user: each
 * subscriber's server reads it to verify its publishers.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args[0]}: ${run.stderr}`);
}

export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** subjectAltName entries; default the loopback endpoint: DNS:localhost, IP:127.0.0.1. */
  sans?: string[];
  /** Already expired (valid for one day in 2020). */
  expired?: boolean;
}

export class LocalCa {
  private serial: number;

  private constructor(
    readonly dir: string,
    /** The CA certificate's file (PEM), readable by every user. */
    readonly certFile: string,
  ) {
    // Serials go on from what the folder already holds (a CA reopened by a later run).
    this.serial = 1 + readdirSync(dir).filter((f) => f.endsWith('.crt') && f !== 'ca.crt').length;
  }

  /** The CA in `dir`, made there if there is none yet. */
  static open(dir: string, name: string): LocalCa {
    return existsSync(path.join(dir, 'ca.crt'))
      ? new LocalCa(dir, path.join(dir, 'ca.crt'))
      : LocalCa.make(dir, name);
  }

  /** A new CA in `dir`. */
  static make(dir: string, name = 'pg-federation test CA'): LocalCa {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
      ],
      dir,
    );
    const certFile = path.join(dir, 'ca.crt');
    chmodSync(certFile, 0o644);
    return new LocalCa(dir, certFile);
  }

  get pem(): string {
    return readFileSync(this.certFile, 'utf8');
  }

  /** A server certificate signed by this CA. */
  issue(name: string, options: IssueOptions = {}): IssuedCertificate {
    const serial = this.serial++;
    const base = `${name}-${serial}`;
    const sans = options.sans ?? ['DNS:localhost', 'IP:127.0.0.1'];
    writeFileSync(
      path.join(this.dir, `${base}.ext`),
      `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
    );
    openssl(
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
      ],
      this.dir,
    );
    if (options.expired === true) {
      // `openssl ca` takes explicit dates; a minimal database of its own.
      writeFileSync(path.join(this.dir, `${base}.index`), '');
      writeFileSync(
        path.join(this.dir, `${base}.cnf`),
        [
          '[ca]',
          'default_ca = test',
          '[test]',
          `database = ${base}.index`,
          `new_certs_dir = .`,
          'certificate = ca.crt',
          'private_key = ca.key',
          `serial = ${base}.serial`,
          'default_md = sha256',
          'policy = any',
          'copy_extensions = none',
          'unique_subject = no',
          '[any]',
          'commonName = supplied',
        ].join('\n'),
      );
      writeFileSync(path.join(this.dir, `${base}.serial`), `${String(1000 + serial)}\n`);
      openssl(
        [
          'ca',
          '-batch',
          '-config',
          `${base}.cnf`,
          '-startdate',
          '20200101000000Z',
          '-enddate',
          '20200102000000Z',
          '-extfile',
          `${base}.ext`,
          '-in',
          `${base}.csr`,
          '-out',
          `${base}.crt`,
          '-notext',
        ],
        this.dir,
      );
    } else {
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-set_serial',
          String(1000 + serial),
          '-days',
          '2',
          '-extfile',
          `${base}.ext`,
          '-out',
          `${base}.crt`,
        ],
        this.dir,
      );
    }
    return {
      cert: readFileSync(path.join(this.dir, `${base}.crt`), 'utf8'),
      key: readFileSync(path.join(this.dir, `${base}.key`), 'utf8'),
    };
  }
}

/** A file holding several CAs (old and new, during a rotation), readable by every user. */
export function caBundle(file: string, cas: LocalCa[]): string {
  writeFileSync(file, cas.map((c) => c.pem).join(''));
  chmodSync(file, 0o644);
  return file;
}
