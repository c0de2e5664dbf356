/**
 * pg-federation's policy pack: `pulumi preview --policy-pack policy` (and `pulumi up`) fails a
 * stack that breaks one of its rules (README.md, "Policy pack: guard rails in `pulumi preview`").
 * Each rule reads the Federation component's output `policy`; rules.ts holds their logic.
 */
import { PolicyPack, type PolicyResource, type ReportViolation } from '@pulumi/policy';
import {
  DEFAULT_PRODUCTION_MARKER,
  FEDERATED_TABLE_TYPE,
  FEDERATION_TYPE,
  type FederationView,
  type ProductionMarker,
  federationView,
  isProduction,
  retainViolations,
  soleHolderViolations,
  stackOfUrn,
  staleFlagViolations,
  tlsViolations,
} from './rules';

/** Each federation of the stack with its view (a component of another version has none this pack reads). */
function federations(resources: PolicyResource[]): Array<{ urn: string; view: FederationView }> {
  return resources.flatMap((r) => {
    if (r.type !== FEDERATION_TYPE) return [];
    const view = federationView(r.props);
    return view === undefined ? [] : [{ urn: r.urn, view }];
  });
}

function report(violations: string[], urn: string, reportViolation: ReportViolation): void {
  for (const message of violations) reportViolation(message, urn);
}

/**
 * The tables whose change in this run removes something, by URN: resource validations run on each
 * resource's checked inputs as it registers, before the stack validation that reads this.
 */
const destructive = new Map<string, string[]>();

new PolicyPack('pg-federation', {
  enforcementLevel: 'mandatory',
  policies: [
    {
      name: 'tls-verifies-certificates',
      description:
        "Every member's sslmode and replicationSslmode is verify-ca or verify-full, on every stack but local.",
      validateStack: (args, reportViolation) => {
        for (const f of federations(args.resources))
          report(tlsViolations(stackOfUrn(f.urn), f.view), f.urn, reportViolation);
      },
    },
    {
      name: 'retain-clusters-in-production',
      description: 'pg-federation:retainClusters is not false on a stack marked production (a stack tag).',
      configSchema: {
        properties: {
          tag: { type: 'string', default: DEFAULT_PRODUCTION_MARKER.tag },
          values: { type: 'array', items: { type: 'string' }, default: DEFAULT_PRODUCTION_MARKER.values },
        },
      },
      validateStack: (args, reportViolation) => {
        const config = args.getConfig<Partial<ProductionMarker>>();
        const marker = {
          tag: config.tag ?? DEFAULT_PRODUCTION_MARKER.tag,
          values: config.values ?? DEFAULT_PRODUCTION_MARKER.values,
        };
        const production = isProduction(args.stackTags, marker);
        for (const f of federations(args.resources))
          report(retainViolations(stackOfUrn(f.urn), production, f.view, marker), f.urn, reportViolation);
      },
    },
    {
      name: 'no-removal-of-the-only-copy',
      description:
        'No member leaves the federation while it is the only holder of its rows (no member that stays has a copy of its partition).',
      validateStack: (args, reportViolation) => {
        for (const f of federations(args.resources))
          report(soleHolderViolations(f.view), f.urn, reportViolation);
      },
    },
    {
      name: 'no-stale-allow-destructive-changes',
      description:
        'pg-federation:allowDestructiveChanges is on only while a change of a table removes something.',
      validateResource: (args) => {
        if (args.type !== FEDERATED_TABLE_TYPE) return;
        const steps: unknown = args.props.destructiveChanges;
        if (Array.isArray(steps) && steps.length > 0) destructive.set(args.urn, steps.map(String));
      },
      validateStack: (args, reportViolation) => {
        for (const f of federations(args.resources))
          report(staleFlagViolations(f.view, destructive), f.urn, reportViolation);
      },
    },
  ],
});
