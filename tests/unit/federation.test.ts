/**
 * The resource graph under Pulumi mocks: counts, the seed's values, dependencies, external and mixed
 * stacks (what adding a member changes: federationGrowth.test.ts).
 */
import { strict as assert } from 'node:assert';
import { parseFederationConfig } from '../../components/stackConfig';
import { Federation } from '../../components/federation';
import { type Registered, mockPassword } from '../support/mocks';

import { MOCK_SECRET, SEED, T, byName, counts, ofType, run } from '../support/graph';

describe('Federation (Pulumi mocks)', function () {
  describe('the seed: three PGO members', function () {
    let resources: Registered[];
    let federation: Federation;
    before(async function () {
      ({ resources, federation } = await run(
        parseFederationConfig({ members: SEED.map((name) => ({ name })) }),
      ));
    });

    it('declares 3 of each per-member resource, 9 partitions and 6 subscriptions', function () {
      assert.deepEqual(counts(resources), {
        cluster: 3,
        secretPatch: 3,
        // The monitoring queries of each member (monitoring defaults to true); no PrometheusRule unless asked.
        configMap: 3,
        prometheusRule: 0,
        provider: 3,
        extension: 3,
        function: 3,
        publication: 3,
        partition: 9,
        subscription: 6,
        table: 3,
        preflight: 0,
        k8sProvider: 0,
        role: 3,
        grant: 3,
      });
    });

    it("declares the seed's PostgresCluster spec with replication settings sized from maxMembers", function () {
      const east = byName(resources, 'hippo-east', T.cluster);
      const spec = east.inputs.spec as Record<string, never>;
      assert.equal(
        spec.image,
        'registry.developers.crunchydata.com/crunchydata/crunchy-postgres:centos8-14.0-0',
      );
      assert.equal(spec.postgresVersion, 14);
      assert.deepEqual(spec.users, [{ name: 'postgres' }]);
      assert.equal(
        (spec.monitoring as Record<string, Record<string, Record<string, string>>>).pgmonitor.exporter.image,
        'registry.developers.crunchydata.com/crunchydata/crunchy-postgres-exporter:ubi8-5.0.3-0',
      );
      const params = (
        spec.patroni as { dynamicConfiguration: { postgresql: { parameters: Record<string, number> } } }
      ).dynamicConfiguration.postgresql.parameters;
      assert.equal(params.max_replication_slots, 31);
      assert.equal(params.max_logical_replication_workers, 27);
      const metadata = east.inputs.metadata as {
        name: string;
        namespace: string;
        annotations: Record<string, string>;
      };
      assert.deepEqual(
        { name: metadata.name, namespace: metadata.namespace },
        { name: 'hippo-east', namespace: 'postgres-operator' },
      );
      assert.equal(
        metadata.annotations['pulumi.com/waitFor'],
        'jsonpath={.status.instances[0].readyReplicas}=1',
      );
    });

    it("patches PGO's user Secret with its labels, patchForce, a password and its SCRAM verifier", function () {
      const patch = byName(resources, 'hippo-east-pguser-postgres');
      const metadata = patch.inputs.metadata as {
        name: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      assert.equal(metadata.name, 'hippo-east-pguser-postgres');
      assert.deepEqual(metadata.labels, {
        'postgres-operator.crunchydata.com/cluster': 'hippo-east',
        'postgres-operator.crunchydata.com/pguser': 'postgres',
        'postgres-operator.crunchydata.com/role': 'pguser',
      });
      assert.equal(metadata.annotations['pulumi.com/patchForce'], 'true');
      const data = patch.inputs.data as Record<string, string>;
      const verifier = Buffer.from(data.verifier ?? '', 'base64').toString();
      assert.match(
        verifier,
        /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/,
      );
      assert.ok(
        Buffer.from(data.password ?? '', 'base64')
          .toString()
          .startsWith('mock-secret-'),
      );
      // The cluster is declared after the patch, so PGO starts from our password.
      assert.ok(byName(resources, 'hippo-east', T.cluster).dependencies.includes(patch.urn));
    });

    it('connects each provider to the primary service with verify-full and the namespace CA', function () {
      const provider = byName(resources, 'hippo-central', T.provider);
      assert.equal(provider.inputs.host, 'hippo-central-primary.postgres-operator.svc');
      assert.equal(provider.inputs.sslmode, 'verify-full');
      assert.match(String(provider.inputs.sslrootcert), /hippo-central-root\.crt$/);
      const cluster = byName(resources, 'hippo-central', T.cluster);
      assert.ok(resources.some((r) => r.type === T.provider && r.dependencies.includes(cluster.urn)));
    });

    it('declares get_node_name() over pgnodemx as in the seed, after the extension', function () {
      const fn = byName(resources, 'hippo-west-get-node-name');
      assert.equal(fn.inputs.name, 'get_node_name');
      assert.equal(fn.inputs.volatility, 'IMMUTABLE');
      assert.equal(fn.inputs.securityDefiner, true);
      assert.match(
        String(fn.inputs.body),
        /kdapi_setof_kv\('labels'\) WHERE key = 'postgres-operator\.crunchydata\.com\/cluster'/,
      );
      assert.ok(fn.dependencies.includes(byName(resources, 'hippo-west-pgnodemx').urn));
    });

    it("publishes each member's own partition, after that partition", function () {
      const pub = byName(resources, 'hippo-east-publication');
      assert.equal(pub.inputs.name, 'pub_hippo_east');
      assert.deepEqual(pub.inputs.tables, ['public.hippo_east']);
      assert.ok(pub.dependencies.includes(byName(resources, 'hippo-east-partition-hippos-hippo-east').urn));
    });

    it('declares every partition of every member on every member, with its LIST value', function () {
      const parts = ofType(resources, T.partition).map(
        (r) => `${String(r.inputs.member)}:${String(r.inputs.partition)}`,
      );
      assert.deepEqual(
        parts.sort(),
        SEED.flatMap((m) => SEED.map((o) => `${m}:${o.replace('-', '_')}`)).sort(),
      );
      const p = byName(resources, 'hippo-west-partition-hippos-hippo-east');
      assert.match(
        String(p.inputs.createSql),
        /PARTITION OF "public"\."hippos" \(PRIMARY KEY \("id"\)\)\s+FOR VALUES IN \('hippo-east'\)/,
      );
      assert.ok(p.dependencies.includes(byName(resources, 'hippo-west-table-hippos').urn));
    });

    it("subscribes every member to every other member's primary with verify-full and the seed's CA path", function () {
      const subs = ofType(resources, T.subscription);
      for (const sub of subs) {
        const { subscriber, publisher, name, publication, conninfo } = sub.inputs as Record<string, string>;
        assert.equal(name, `sub_${subscriber?.replace('-', '_')}_${publisher?.replace('-', '_')}`);
        assert.equal(publication, `pub_${publisher?.replace('-', '_')}`);
        assert.match(
          conninfo ?? '',
          new RegExp(
            `^dbname='postgres' host='${publisher}-primary\\.postgres-operator\\.svc' port='5432' user='federation_replicator' ` +
              `password='${MOCK_SECRET}' sslrootcert='/pgconf/tls/ca\\.crt' sslmode='verify-full' connect_timeout='10'$`,
          ),
        );
        // After the subscriber's partition for the publisher and the publisher's publication.
        assert.ok(
          sub.dependencies.includes(byName(resources, `${subscriber}-partition-hippos-${publisher}`).urn),
        );
        assert.ok(sub.dependencies.includes(byName(resources, `${publisher}-publication`).urn));
      }
      assert.deepEqual(subs.map((s) => s.name).sort(), [
        'hippo-central-sub-hippo-east',
        'hippo-central-sub-hippo-west',
        'hippo-east-sub-hippo-central',
        'hippo-east-sub-hippo-west',
        'hippo-west-sub-hippo-central',
        'hippo-west-sub-hippo-east',
      ]);
    });

    it('subscribes as a dedicated replication role that may only read the publisher’s own partition', function () {
      for (const member of SEED) {
        const role = byName(resources, `${member}-replication-role`, T.role);
        assert.deepEqual(
          [role.inputs.name, role.inputs.login, role.inputs.replication],
          ['federation_replicator', true, true],
        );
        assert.equal(role.inputs.superuser, undefined);
        const grant = byName(resources, `${member}-replication-grant-hippos`, T.grant);
        assert.deepEqual(
          [grant.inputs.role, grant.inputs.objectType, grant.inputs.objects, grant.inputs.privileges],
          ['federation_replicator', 'table', [member.replace('-', '_')], ['SELECT']],
        );
        assert.ok(grant.dependencies.includes(byName(resources, `${member}-partition-hippos-${member}`).urn));
      }
      for (const sub of ofType(resources, T.subscription)) {
        const publisher = String(sub.inputs.publisher);
        const conninfo = String(sub.inputs.conninfo);
        assert.ok(conninfo.includes(`password='${mockPassword(`${publisher}-replication-password`)}'`));
        assert.ok(
          !conninfo.includes(mockPassword(`${publisher}-postgres-password`)),
          'the superuser password stays with Pulumi',
        );
        assert.ok(sub.dependencies.includes(byName(resources, `${publisher}-replication-grant-hippos`).urn));
      }
    });

    it('passes passwords and connection info to every resource as secrets', function () {
      for (const sub of ofType(resources, T.subscription)) {
        assert.deepEqual(sub.secretInputs.sort(), ['connection', 'conninfo', 'publisherConnection']);
      }
      for (const part of ofType(resources, T.partition)) {
        const landing = part.inputs.owner !== part.inputs.member;
        assert.deepEqual(
          part.secretInputs.sort(),
          landing ? ['connection', 'publisherConnection'] : ['connection', 'restoreFrom'],
        );
      }
      for (const provider of ofType(resources, T.provider))
        assert.ok(provider.secretInputs.includes('password'));
      for (const patch of ofType(resources, T.secretPatch)) assert.ok(patch.secretInputs.includes('data'));
    });

    it('summarizes each member for the stack outputs, without secrets', function () {
      assert.deepEqual(federation.summary['hippo-east'], {
        kind: 'pgo',
        host: 'hippo-east-primary.postgres-operator.svc',
        replicationHost: 'hippo-east-primary.postgres-operator.svc',
        publication: 'pub_hippo_east',
        subscriptions: ['sub_hippo_east_hippo_central', 'sub_hippo_east_hippo_west'],
      });
      assert.doesNotMatch(JSON.stringify(federation.summary), /mock-secret|password/);
    });
  });

  describe('external and mixed stacks', function () {
    let resources: Registered[];
    before(async function () {
      ({ resources } = await run(
        parseFederationConfig({
          members: [
            { name: 'hippo-east' },
            {
              name: 'hippo-west',
              namespace: 'west',
              kubeContext: 'west-cluster',
              host: 'localhost',
              port: 15432,
              sslmode: 'verify-ca',
            },
            {
              name: 'laptop',
              kind: 'external',
              host: '10.1.2.3',
              port: 5433,
              sslmode: 'require',
              replicationHost: 'laptop.vpn.example',
              replicationSslmode: 'verify-full',
              replicationSslrootcert: '/pgconf/tls/laptop-ca.crt',
            },
          ],
        }),
        { laptop: 'laptop-admin-secret' },
      ));
    });

    it('declares no Kubernetes resources for the external member, and a preflight check instead', function () {
      const k8sNames = resources.filter((r) => r.type.startsWith('kubernetes:')).map((r) => r.name);
      assert.ok(
        k8sNames.every((n) => !n.startsWith('laptop')),
        k8sNames.join(', '),
      );
      assert.deepEqual(
        ofType(resources, T.cluster).map((r) => r.name),
        ['hippo-east', 'hippo-west'],
      );
      assert.equal(ofType(resources, T.extension).length, 2, 'pgnodemx only on PGO members');
      const preflight = byName(resources, 'laptop-preflight', T.preflight);
      assert.equal(preflight.inputs.members, 3);
      const provider = byName(resources, 'laptop', T.provider);
      assert.ok(provider.dependencies.includes(preflight.urn), 'nothing connects before the check');
      assert.match(
        String(byName(resources, 'laptop-get-node-name', T.function).inputs.body),
        /SELECT 'laptop'::text;/,
      );
    });

    it("uses a kubeconfig context's own Kubernetes provider for a member in another cluster", function () {
      const providers = ofType(resources, T.k8sProvider);
      assert.deepEqual(
        providers.map((p) => [p.name, p.inputs.context]),
        [['k8s-west-cluster', 'west-cluster']],
      );
    });

    it('points each subscription at its publisher’s replication endpoint', function () {
      const conninfo = (name: string) => String(byName(resources, name, T.subscription).inputs.conninfo);
      assert.match(
        conninfo('hippo-east-sub-laptop'),
        new RegExp(
          `host='laptop\\.vpn\\.example' port='5433' user='federation_replicator' password='${MOCK_SECRET}' ` +
            `sslrootcert='/pgconf/tls/laptop-ca\\.crt' sslmode='verify-full'`,
        ),
      );
      // hippo-west is reached by Pulumi through a port-forward, but by its peers in-cluster.
      assert.match(conninfo('laptop-sub-hippo-west'), /host='hippo-west-primary\.west\.svc' port='5432'/);
      assert.match(
        conninfo('hippo-west-sub-hippo-east'),
        /host='hippo-east-primary\.postgres-operator\.svc'/,
      );
      const west = byName(resources, 'hippo-west', T.provider);
      assert.deepEqual(
        [west.inputs.host, west.inputs.port, west.inputs.sslmode],
        ['localhost', '15432', 'verify-ca'],
      );
      const laptopConn = byName(resources, 'laptop-table-hippos', T.table).inputs.connection as Record<
        string,
        unknown
      >;
      assert.deepEqual([laptopConn.host, laptopConn.port, laptopConn.sslmode], ['10.1.2.3', 5433, 'require']);
    });
  });
});
