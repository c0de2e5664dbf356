import { strict as assert } from 'node:assert';
import { normalizePassword, scramSha256Verifier } from '../../components/scram';

describe('SCRAM-SHA-256 verifier', function () {
  it("reproduces the seed's VERIFIER for password datalake from its salt, byte for byte", function () {
    const seedVerifier = Buffer.from(
      'U0NSQU0tU0hBLTI1NiQ0MDk2OkZBblNrVXJMM2pINkJwMTdQNUZUdVE9PSRCZWNMVTBZWHpCVXduVGszYjNnaElaNy96UzJYdkQ4d1g1MEh6NUpMMHE0PTpweHVFdG96WVRacEFjNndJTlY1M3NDcjRBZnhrOExMZm9yNU12a1lwMjFzPQ==',
      'base64',
    ).toString('utf8');
    const salt = seedVerifier.split('$')[1]?.split(':')[1] ?? '';
    assert.equal(salt, 'FAnSkUrL3jH6Bp17P5FTuQ==');
    assert.equal(scramSha256Verifier('datalake', salt), seedVerifier);
  });

  it('is stable for the same password and salt, and differs with either', function () {
    const salt = Buffer.alloc(16, 7).toString('base64');
    assert.equal(scramSha256Verifier('p1', salt), scramSha256Verifier('p1', salt));
    assert.notEqual(scramSha256Verifier('p1', salt), scramSha256Verifier('p2', salt));
    assert.notEqual(
      scramSha256Verifier('p1', salt),
      scramSha256Verifier('p1', Buffer.alloc(16, 8).toString('base64')),
    );
  });

  it('applies SASLprep as PostgreSQL does, and falls back to the raw password where SASLprep fails', function () {
    assert.equal(normalizePassword('I\u00ADX'), 'IX'); // soft hyphen is mapped to nothing (RFC 4013 example)
    assert.equal(normalizePassword('\u2168'), 'IX'); // NFKC
    assert.equal(normalizePassword('a\u0007b'), 'a\u0007b'); // prohibited: PostgreSQL uses the raw bytes
  });
});
