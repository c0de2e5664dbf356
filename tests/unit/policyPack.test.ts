/**
 * The policy pack's logic without the engine: the view the Federation component registers
 * (components/policyView.ts) from parsed config and a recorded deployment, and each rule of
 * policy/rules.ts on it, with its exact message. tests/e2e/policy.test.ts runs the pack in the engine.
 */
import { strict as assert } from 'node:assert';
import {
  POLICY_VIEW_VERSION,
  type RecordedFederation,
  departures,
  policyView,
  recordedFederation,
  someMemberMayHaveLeft,
} from '../../components/policyView';
import { parseFederationConfig } from '../../components/stackConfig';
import {
  DEFAULT_PRODUCTION_MARKER,
  type FederationView,
  VIEW_VERSION,
  federationView,
  isProduction,
  retainViolations,
  soleHolderViolations,
  stackOfUrn,
  staleFlagViolations,
  tlsViolations,
} from '../../policy/rules';

const external = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'external',
  host: '127.0.0.1',
  port: 5432,
  ...extra,
});

/** Every member's own partition of hippos, every landing, and every subscription among `members`. */
function fullMesh(members: string[]): RecordedFederation {
  return {
    partitions: members.flatMap((member) => members.map((owner) => ({ member, owner, table: 'hippos' }))),
    subscriptions: members.flatMap((subscriber) =>
      members.filter((p) => p !== subscriber).map((publisher) => ({ subscriber, publisher })),
    ),
  };
}

describe('the policy view', function () {
  it("is the pack's view: same version, and the program's type is the one the pack reads", function () {
    assert.equal(VIEW_VERSION, POLICY_VIEW_VERSION);
    const view: FederationView = policyView(
      parseFederationConfig({ members: [{ name: 'hippo-east' }] }),
      undefined,
    );
    assert.deepEqual(federationView({ policy: view }), view);
    assert.equal(federationView({ policy: { ...view, version: 2 } }), undefined);
    assert.equal(federationView({}), undefined);
  });

  it("holds each member's sslmodes, the flags the rules read, and no secret", function () {
    const cfg = parseFederationConfig({
      members: [{ name: 'hippo-east' }, external('hippo-ext', { replicationSslmode: 'verify-ca' })],
      retainClusters: false,
      allowDestructiveChanges: true,
      lostMembers: ['hippo-gone'],
    });
    assert.deepEqual(policyView(cfg, undefined), {
      version: 1,
      members: [
        { name: 'hippo-east', kind: 'pgo', sslmode: 'verify-full', replicationSslmode: 'verify-full' },
        { name: 'hippo-ext', kind: 'external', sslmode: 'require', replicationSslmode: 'verify-ca' },
      ],
      retainClusters: false,
      partitionDeletion: 'detach',
      allowDestructiveChanges: true,
      lostMembers: ['hippo-gone'],
      lastDeployment: 'none',
      departures: [],
    });
  });

  it('names each member that owned partitions and left, with the members that stay and hold a copy', function () {
    const cfg = parseFederationConfig({ members: [{ name: 'b' }, { name: 'c' }] });
    // a and b were copied both ways; d was added and never copied (its subscriptions never finished).
    const last = fullMesh(['a', 'b', 'c']);
    last.partitions.push(
      { member: 'd', owner: 'd', table: 'hippos' },
      { member: 'b', owner: 'd', table: 'hippos' },
    );
    assert.deepEqual(departures(cfg, last), [
      { member: 'a', lost: false, tables: [{ table: 'hippos', copiesOn: ['b', 'c'] }] },
      { member: 'd', lost: false, tables: [{ table: 'hippos', copiesOn: [] }] },
    ]);
    assert.deepEqual(departures(cfg, fullMesh(['b', 'c'])), []);
  });

  it('reads the resources only when the recorded members output names a member config lacks, or there is none', function () {
    const members = { 'hippo-east': {}, 'hippo-west': {} };
    assert.equal(someMemberMayHaveLeft({ members }, ['hippo-east', 'hippo-west', 'hippo-south']), false);
    assert.equal(someMemberMayHaveLeft({ members }, ['hippo-west']), true);
    assert.equal(someMemberMayHaveLeft({ other: 1 }, ['hippo-west']), true);
    assert.equal(someMemberMayHaveLeft({ members: ['hippo-east'] }, ['hippo-east']), true);
  });

  it("reads partitions and subscriptions from the engine's resource outputs, nothing else", function () {
    const recorded = recordedFederation({
      'urn:1': {
        type: 'pulumi-nodejs:dynamic/pg-federation:Partition',
        outputs: { member: 'a', owner: 'b', table: 'hippos', connection: { password: 'x' } },
      },
      'urn:2': {
        type: 'pulumi-nodejs:dynamic/pg-federation:Subscription',
        outputs: { subscriber: 'a', publisher: 'b', conninfo: 'x' },
      },
      'urn:3': { type: 'postgresql:index:Role', outputs: { name: 'federation_replicator' } },
    });
    assert.deepEqual(recorded, {
      partitions: [{ member: 'a', owner: 'b', table: 'hippos' }],
      subscriptions: [{ subscriber: 'a', publisher: 'b' }],
    });
  });
});

describe('the policy rules', function () {
  const view = (raw: Record<string, unknown>, last?: RecordedFederation): FederationView =>
    policyView(parseFederationConfig(raw), last);

  it('take the stack from a URN', function () {
    assert.equal(
      stackOfUrn('urn:pulumi:prod::pg-federation::pg-federation:index:Federation::federation'),
      'prod',
    );
  });

  it('TLS: every member verifies certificates on every stack but local', function () {
    const weak = view({ members: [{ name: 'hippo-east' }, external('hippo-ext')] });
    assert.deepEqual(tlsViolations('staging', weak), [
      'member "hippo-ext": sslmode is "require", replicationSslmode is "require"; on stack "staging" ' +
        "Pulumi's connections and the subscriptions must check the server's certificate (only the " +
        '"local" stack may go without): set pg-federation:members[1].sslmode and ' +
        'pg-federation:members[1].replicationSslmode to verify-ca or verify-full',
    ]);
    assert.deepEqual(tlsViolations('local', weak), []);
    const strong = view({
      members: [{ name: 'hippo-east' }, external('hippo-ext', { sslmode: 'verify-ca' })],
    });
    assert.deepEqual(tlsViolations('staging', strong), []);
  });

  it('production: retainClusters is not false on a stack tagged environment=production', function () {
    const m = DEFAULT_PRODUCTION_MARKER;
    assert.equal(isProduction(new Map([['environment', 'production']]), m), true);
    assert.equal(isProduction(new Map([['environment', 'staging']]), m), false);
    assert.equal(isProduction(new Map(), m), false);
    const off = view({ members: [{ name: 'hippo-east' }], retainClusters: false });
    assert.deepEqual(retainViolations('prod', true, off, m), [
      'stack "prod" is marked production (stack tag environment=production) and pg-federation:retainClusters ' +
        'is false: removing a member would delete its PostgresCluster, and the data on its volumes, with it; ' +
        'remove the key (it defaults to true)',
    ]);
    assert.deepEqual(retainViolations('staging', false, off, m), []);
    assert.deepEqual(retainViolations('prod', true, view({ members: [{ name: 'hippo-east' }] }), m), []);
  });

  it('the only copy: a member leaves only once a member that stays holds its partition', function () {
    const last = fullMesh(['a']);
    const message =
      'member "a" leaves the federation while it is the only holder of its rows of hippos: no member that ' +
      'stays has a copy of its partition (none had finished copying it in the last deployment); keep it in ' +
      'pg-federation:members until one has (pulumi up with both), or, if its server is gone for good, list ' +
      'it in pg-federation:lostMembers';
    assert.deepEqual(soleHolderViolations(view({ members: [{ name: 'b' }] }, last)), [message]);
    assert.deepEqual(soleHolderViolations(view({ members: [{ name: 'b' }], lostMembers: ['a'] }, last)), []);
    assert.deepEqual(soleHolderViolations(view({ members: [{ name: 'b' }] }, fullMesh(['a', 'b']))), []);
    assert.deepEqual(soleHolderViolations(view({ members: [{ name: 'b' }] })), []);
  });

  it('allowDestructiveChanges: on only while some table plans a destructive step', function () {
    const on = view({ members: [{ name: 'hippo-east' }], allowDestructiveChanges: true });
    assert.deepEqual(staleFlagViolations(on, new Map()), [
      'pg-federation:allowDestructiveChanges is true, but no table change in this run removes anything: ' +
        'the change it was for is done; set it back (pulumi config rm pg-federation:allowDestructiveChanges)',
    ]);
    assert.deepEqual(staleFlagViolations(on, new Map([['urn:t', ['drop column created_at']]])), []);
    assert.deepEqual(staleFlagViolations(view({ members: [{ name: 'hippo-east' }] }), new Map()), []);
  });
});
