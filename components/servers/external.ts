/**
 * An external member: a PostgreSQL server this program does not run (a VM, a managed service, the
 * local job's embedded servers). It is reached at its `host` (required) and `port`, with `require`
 * TLS by default; subscribers reach it at the same endpoint unless `replication*` says otherwise.
 * Its admin password comes from stack config; before anything is created on it, a preflight check
 * (components/providers/serverCheck.ts) makes sure it can take part, and its WAL budget is set there
 * (components/providers/slotLimits.ts). It may move to another server (`serverGeneration`).
 */
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { walBudgetMB } from '../config/sizes';
import type { MemberBase } from '../config/types';
import { adminConnectionArgs, readCaFile } from '../endpoints';
import type { ServerCheckInputs } from '../providers/serverCheck';
import { ServerCheck } from '../providers/serverCheck';
import { SlotLimits, type SlotLimitsInputs } from '../providers/slotLimits';
import { replicationSettings } from '../replicationSettings';
import type { ServerKind } from './kind';

export const externalFields = z.object({
  /**
   * Which server the member has had (1, 2, …). Raised together with host/port, it moves the member
   * to a new, empty server: everything of it is made there, its own partitions restored from the
   * peers' copies, and removed from the old server.
   */
  serverGeneration: z.number().int().min(1).optional(),
});

/**
 * The WAL budget of a server whose volume this program does not know: 10GB, room for a subscriber
 * away for hours at a few MB/s of writes. A member or the stack may say otherwise.
 */
export const EXTERNAL_WAL_BUDGET = '10GB';

export interface ExternalMember extends MemberBase {
  kind: 'external';
}

/** The inputs of the preflight check and of the slot limits, all but the connection. */
export interface ExternalServerPlan {
  kind: 'external';
  member: ExternalMember;
  database: string;
  preflight: { resourceName: string; inputs: Omit<ServerCheckInputs, 'connection'> };
  slotLimits: { resourceName: string; inputs: Omit<SlotLimitsInputs, 'connection'> };
}

export const externalKind: ServerKind<ExternalMember, ExternalServerPlan> = {
  fields: externalFields,

  validate(m) {
    return m.host === undefined ? [`host: external member "${m.name}" needs a host`] : [];
  },

  resolve(m, stack) {
    const own = externalFields.parse(m);
    const admin = {
      host: m.host ?? '',
      port: m.port ?? 5432,
      sslmode: m.sslmode ?? 'require',
      ...(m.sslrootcert !== undefined ? { sslrootcert: m.sslrootcert } : {}),
    };
    return {
      name: m.name,
      kind: 'external',
      user: m.user ?? 'postgres',
      admin,
      replication: {
        host: m.replicationHost ?? admin.host,
        port: m.replicationPort ?? admin.port,
        sslmode: m.replicationSslmode ?? admin.sslmode,
        ...(m.replicationSslrootcert !== undefined ? { sslrootcert: m.replicationSslrootcert } : {}),
      },
      // pgnodemx exists only under PGO.
      nodeName: 'static',
      serverGeneration: own.serverGeneration ?? 1,
      walBudgetMB: walBudgetMB(m.maxSlotWalKeepSize ?? stack.maxSlotWalKeepSize ?? EXTERNAL_WAL_BUDGET) ?? -1,
    };
  },

  planServer(member, context) {
    return {
      kind: 'external',
      member,
      database: context.database,
      preflight: {
        resourceName: `${member.name}-preflight`,
        inputs: {
          member: member.name,
          members: context.members,
          recommended: { ...replicationSettings(context.maxMembers) },
          serverGeneration: member.serverGeneration,
          publication: context.publication,
        },
      },
      slotLimits: {
        resourceName: `${member.name}-slot-limits`,
        inputs: {
          member: member.name,
          maxSlotWalKeepSizeMB: member.walBudgetMB,
          idleReplicationSlotTimeout: context.idleReplicationSlotTimeout,
        },
      },
    };
  },

  provision(_name, plan, args) {
    const { member, database } = plan;
    const password = pulumi.secret(args.passwords.apply((p) => p[member.name] ?? ''));
    const ca =
      member.admin.sslrootcert !== undefined ? readCaFile(member.name, member.admin.sslrootcert) : undefined;
    const connection = adminConnectionArgs(member, database, password, ca);
    // A server we do not run is checked before anything is created on it.
    const preflight = new ServerCheck(
      plan.preflight.resourceName,
      { ...plan.preflight.inputs, connection },
      // A new generation is a new server: checked afresh (and found empty) before anything moves there.
      { parent: args.parent, replacementTrigger: member.serverGeneration },
    );
    // The WAL its subscribers' slots may keep there: set on the server it checked.
    const slotLimits = new SlotLimits(
      plan.slotLimits.resourceName,
      { ...plan.slotLimits.inputs, connection },
      { parent: args.parent, replacementTrigger: member.serverGeneration, dependsOn: [preflight] },
    );
    return {
      connection,
      password,
      major: preflight.serverVersion.apply((v) => Number.parseInt(v, 10)),
      ...(member.admin.sslrootcert !== undefined ? { caPath: member.admin.sslrootcert } : {}),
      ready: [preflight],
      resources: [preflight, slotLimits],
    };
  },
};
