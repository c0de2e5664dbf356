/**
 * A postgresql-provider create cut short after it committed (the fault campaign struck one in 50
 * runs): found in the engine's output with its member, and dropped by a quoted statement.
 */
import { strict as assert } from 'node:assert';
import { dropUnrecorded, unrecordedCreates } from '../../scripts/unrecordedCreates';

describe('creates the postgresql provider left unrecorded', function () {
  it("finds each `already exists` of a publication or role in the engine's progress lines, with its member, once", function () {
    const output = [
      ' +  postgresql:index:Publication hippo-south-publication creating (0s) error:   sdk-v2/provider2.go:571: sdk.helper_schema: error creating Publication: pq: publication "pub_hippo_south" already exists (42710): provider=postgresql@3.18.1',
      ' +  postgresql:index:Publication hippo-south-publication **creating failed** error:   sdk-v2/provider2.go:571: sdk.helper_schema: error creating Publication: pq: publication "pub_hippo_south" already exists (42710): provider=postgresql@3.18.1',
      ' +  postgresql:index:Role hippo-west-replication-role creating (0s) error:   sdk-v2/provider2.go:571: sdk.helper_schema: error creating role federation_replicator: pq: role "federation_replicator" already exists (42710)',
      ' +  postgresql:index:Grant hippo-west-replication-grant-hippos creating (0s) error: pq: relation "hippo_west" does not exist',
      '    error: update failed',
    ].join('\n');
    assert.deepEqual(unrecordedCreates(output), [
      { member: 'hippo-south', kind: 'publication', name: 'pub_hippo_south' },
      { member: 'hippo-west', kind: 'role', name: 'federation_replicator' },
    ]);
    assert.deepEqual(unrecordedCreates('error: update failed'), []);
  });

  it('drops by a quoted name', function () {
    assert.equal(
      dropUnrecorded({ member: 'hippo-south', kind: 'publication', name: 'pub_hippo_south' }),
      'DROP PUBLICATION "pub_hippo_south"',
    );
    assert.equal(dropUnrecorded({ member: 'm', kind: 'role', name: 'odd"name' }), 'DROP ROLE "odd""name"');
  });
});
