/**
 * The one place each kind of quoting and redaction happens: libpq conninfo values, SQL template
 * variables, and what is removed from messages.
 */
import { strict as assert } from 'node:assert';
import { conninfo, redact } from '../../components/providers/connection';
import { renderSql } from '../../components/sql';

describe('quoting and redaction', function () {
  it('quotes conninfo values as libpq reads them', function () {
    assert.equal(
      conninfo({ host: 'h', port: 5432, password: `it's a \\ test`, sslrootcert: undefined }),
      `host='h' port='5432' password='it\\'s a \\\\ test'`,
    );
  });

  it('renders identifiers and literals through pg’s escaping, leaving casts alone', function () {
    assert.equal(
      renderSql(`SELECT :'v'::text FROM :"s".:"t"`, {
        identifiers: { s: 'public', t: 'we"ird' },
        literals: { v: "o'k" },
      }),
      `SELECT 'o''k'::text FROM "public"."we""ird"`,
    );
    assert.throws(() => renderSql(`SELECT :"missing"`, {}), /SQL template needs variable\(s\) "missing"/);
  });

  it('redacts passwords from conninfo strings, URIs and given secrets', function () {
    const secret = 'S3cr3t-value';
    const text = `failed: host='h' password='p\\'w' x; postgres://u:pw@h/db; and ${secret} again password=bare`;
    const out = redact(text, [secret]);
    assert.equal(out, `failed: host='h' password=*** x; postgres://u:***@h/db; and *** again password=***`);
  });
});
