import { strict as assert } from 'node:assert';
import {
  partitionName,
  primaryServiceHost,
  publicationName,
  resourceNames,
  slotName,
  subscriptionName,
  userSecretName,
} from '../../components/naming';

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
        resourceNames.partition(o, m),
        ...(o !== m ? [resourceNames.subscription(m, o)] : []),
      ]),
    );
    assert.equal(new Set(pulumiNames).size, pulumiNames.length);
  });
});
