/** What `npm run status` asks each member, as strings, and how it reads a lag limit. */
import { strict as assert } from 'node:assert';
import { parseSize } from '../../scripts/status';
import { CANONICAL_SESSION, statusQueries } from '../../scripts/status/queries';

describe('status queries', function () {
  it('hashes a partition quoted, in a fixed order, with the canonical session settings', function () {
    assert.equal(
      statusQueries.content('public', 'x"y').replace(/\s+/g, ' '),
      `SELECT count(*) AS n, md5(string_agg(h, '' ORDER BY h)) AS hash FROM (SELECT md5(t::text) COLLATE "C" AS h FROM "public"."x""y" t) rows`,
    );
    assert.ok(CANONICAL_SESSION.includes("SET TimeZone = 'UTC'"));
  });

  it('reads a lag limit in bytes or with a binary unit, and refuses anything else', function () {
    assert.deepEqual(
      ['0', '512', '1KiB', '512KiB', '16MiB', '1GiB', '2 TiB'].map(parseSize),
      [0, 512, 1024, 524288, 16777216, 1073741824, 2199023255552],
    );
    for (const bad of ['1MB', '1.5MiB', '-1', 'lots']) assert.throws(() => parseSize(bad), /--max-lag-bytes/);
  });
});
