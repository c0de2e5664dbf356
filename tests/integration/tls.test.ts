/**
 * TLS failures as users meet them, on real servers with certificates made by the test: each one
 * clear line naming the member, the endpoint and the fix, for Pulumi's own connections and for a
 * subscriber's server that cannot verify its publisher (at once, not after a sync timeout).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { type PgConnection, withClient } from '../../components/providers/connection';
import { MAJOR, ServerSet, type TestServer } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { FederationDriver, configFor } from '../support/federationDriver';
import { LocalCa } from '../../scripts/embedded/certificates';

describe(`TLS failures on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let other: LocalCa;
  before(async function () {
    set = await ServerSet.start([]);
    other = LocalCa.make(path.join(set.root, 'other-ca'), 'some other CA');
    await set.add('good', { tls: true });
    const mismatch = await set.add('mismatch', { tls: true });
    await mismatch.useCertificate(set.ca.issue('mismatch', { sans: ['DNS:elsewhere.example'] }));
    const expired = await set.add('expired', { tls: true });
    await expired.useCertificate(set.ca.issue('expired', { expired: true }));
    await set.add('plain');
  });
  after(async function () {
    await set?.stopAll();
  });

  async function failure(server: TestServer, conn: Partial<PgConnection>): Promise<string> {
    const err = await withClient(server.name, { ...server.connection, ...conn }, async () => undefined).then(
      () => assert.fail('connected'),
      (e: Error) => e,
    );
    assert.equal(err.message.split('\n').length, 1, err.message);
    assert.ok(!err.message.includes(TEST_PASSWORD));
    assert.match(
      err.message,
      new RegExp(
        `^cannot connect to member "${server.name}" at postgres@127\\.0\\.0\\.1:${server.port}/postgres \\(sslmode=`,
      ),
    );
    return err.message;
  }

  it('a CA that did not sign the server certificate', async function () {
    const message = await failure(set.get('good'), { sslmode: 'verify-full', ca: other.pem });
    assert.match(
      message,
      /the server's certificate is not signed by the CA in sslrootcert: point members\[\]\.sslrootcert at the CA that signed it$/,
    );
  });

  it('a certificate that does not name the host', async function () {
    const message = await failure(set.get('mismatch'), { sslmode: 'verify-full', ca: set.ca.pem });
    assert.match(
      message,
      /the server's certificate does not name the host connected to: use a host name the certificate carries, or sslmode verify-ca/,
    );
    // verify-ca checks the chain only, and connects.
    await withClient(
      'mismatch',
      { ...set.get('mismatch').connection, sslmode: 'verify-ca', ca: set.ca.pem },
      async () => undefined,
    );
  });

  it('an expired certificate', async function () {
    const message = await failure(set.get('expired'), { sslmode: 'verify-full', ca: set.ca.pem });
    assert.match(message, /the server's certificate has expired: renew it/);
  });

  it('a server without TLS under verify-full', async function () {
    const message = await failure(set.get('plain'), { sslmode: 'verify-full', ca: set.ca.pem });
    assert.match(message, /the server does not offer TLS: turn on ssl there, or lower sslmode/);
  });

  it('a plain connection to a TLS-only server', async function () {
    const message = await failure(set.get('good'), { sslmode: 'disable' });
    assert.match(
      message,
      /the server accepts TLS connections only: set sslmode to require, verify-ca or verify-full/,
    );
  });

  it("a subscriber's server that cannot verify its publisher fails the subscription at once, naming the publisher", async function () {
    const pair = await ServerSet.start(['hippo-east', 'hippo-west'], { tls: true });
    try {
      const servers = ['hippo-east', 'hippo-west'].map((n) => pair.get(n));
      const wrongCa = path.join(other.dir, 'ca.crt');
      const cfg = configFor(
        servers,
        {},
        {
          sslmode: 'verify-full',
          sslrootcert: pair.ca.certFile,
          replicationSslmode: 'verify-full',
          replicationSslrootcert: wrongCa,
        },
      );
      await assert.rejects(new FederationDriver(pair).up(cfg), (err: Error) => {
        assert.match(
          err.message,
          /^subscription sub_hippo_\w+ on "hippo-\w+" to "hippo-\w+": the server of "hippo-\w+" cannot connect to publisher "hippo-\w+" with the replication conninfo: .*certificate verify failed.*; the server's certificate is not signed by the CA in replicationSslrootcert: point members\[\]\.replicationSslrootcert at the CA that signed it \(a path on "hippo-\w+"'s server\)$/s,
        );
        assert.ok(!err.message.includes(TEST_PASSWORD));
        // At once, from the subscriber's failed connection: not after the sync timeout.
        assert.doesNotMatch(err.message, /initial sync not ready/);
        return true;
      });
    } finally {
      await pair.stopAll();
    }
  });
});
