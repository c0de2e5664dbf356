import { strict as assert } from 'node:assert';
import {
  derivedName,
  partitionName,
  publicationName,
  resourceNames,
  slotName,
  subscriptionName,
  suggestMemberName,
} from '../../components/naming';
import { memberNameProblem } from '../../components/config/parse';
import { primaryServiceHost, userSecretName } from '../../components/servers/pgoNames';

describe('naming', function () {
  it("derives the seed's names", function () {
    assert.equal(partitionName('{member}', 'hippo-east'), 'hippo_east');
    assert.equal(partitionName('hippos_{member}', 'hippo-east'), 'hippos_hippo_east');
    assert.equal(publicationName('hippo-east'), 'pub_hippo_east');
    assert.equal(subscriptionName('hippo-east', 'hippo-central'), 'sub_hippo_east_hippo_central');
    assert.equal(slotName('hippo-east', 'hippo-central'), 'sub_hippo_east_hippo_central');
    assert.equal(userSecretName('hippo-east', 'postgres'), 'hippo-east-pguser-postgres');
    assert.equal(
      primaryServiceHost('hippo-east', 'postgres-operator'),
      'hippo-east-primary.postgres-operator.svc',
    );
  });

  it('gives every ordered pair its own subscription and every pair of resources its own Pulumi name', function () {
    const members = ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south', 'a', 'a-b'];
    const subs = members.flatMap((s) => members.filter((p) => p !== s).map((p) => subscriptionName(s, p)));
    assert.equal(new Set(subs).size, members.length * (members.length - 1));
    for (const name of subs) assert.match(name, /^[a-z_][a-z0-9_]*$/);
    const pulumiNames = members.flatMap((m) =>
      members.flatMap((o) => [
        resourceNames.partition(m, 'hippos', o),
        ...(o !== m ? [resourceNames.subscription(m, o)] : []),
      ]),
    );
    assert.equal(new Set(pulumiNames).size, pulumiNames.length);
  });
});

describe('derived names', function () {
  it("names a primary key as PostgreSQL's makeObjectName does, clipped to fit 63 bytes", function () {
    assert.equal(derivedName('hippo_east', 'pkey'), 'hippo_east_pkey');
    const long = `p${'x'.repeat(62)}`;
    assert.equal(derivedName(long, 'pkey'), `${long.slice(0, 58)}_pkey`);
    assert.equal(Buffer.byteLength(derivedName(long, 'pkey')), 63);
  });

  it('suggests member names that pass every rule the config applies', function () {
    const cases: Array<[string, string]> = [
      ['Hippo_East', 'hippo-east'],
      ['hippö-wëst', 'hippo-west'],
      ['河马-west', 'west'],
      ['9lives', 'lives'],
      ['---', 'member-1'],
      [`h${'i'.repeat(62)}`, `h${'i'.repeat(58)}`],
    ];
    for (const [bad, expected] of cases) {
      const suggestion = suggestMemberName(bad, 0);
      assert.equal(suggestion, expected, bad);
      assert.equal(memberNameProblem(suggestion), undefined, `${suggestion} passes`);
    }
  });
});
