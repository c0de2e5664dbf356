/**
 * An external member: a PostgreSQL server this program does not run (a VM, a managed service, the
 * local job's embedded servers). Its admin password comes from stack config; before anything is
 * created on it, a preflight check (components/providers/serverCheck.ts) makes sure it can take part.
 */
import * as pulumi from '@pulumi/pulumi';
import { adminConnectionArgs, readCaFile } from '../endpoints';
import { ServerCheck } from '../providers/serverCheck';
import { replicationSettings } from '../replicationSettings';
import type { ProvisionedServer, ServerKind } from './kind';

export const externalKind: ServerKind = {
  ownKeys: ['serverGeneration'],

  validate(s) {
    return s.host === undefined ? [`host: external member "${s.name}" needs a host`] : [];
  },

  endpoints(s) {
    const admin = {
      host: s.host ?? '',
      port: s.port ?? 5432,
      sslmode: s.sslmode ?? 'require',
      ...(s.sslrootcert !== undefined ? { sslrootcert: s.sslrootcert } : {}),
    };
    return {
      admin,
      replication: {
        host: s.replicationHost ?? admin.host,
        port: s.replicationPort ?? admin.port,
        sslmode: s.replicationSslmode ?? admin.sslmode,
        ...(s.replicationSslrootcert !== undefined ? { sslrootcert: s.replicationSslrootcert } : {}),
      },
    };
  },

  nodeName() {
    // pgnodemx exists only under PGO.
    return 'static';
  },

  provision(name, args): ProvisionedServer {
    const { member, config, parent } = args;
    const password = pulumi.secret(args.passwords.apply((p) => p[member.name] ?? ''));
    const ca =
      member.admin.sslrootcert !== undefined ? readCaFile(member.name, member.admin.sslrootcert) : undefined;
    const connection = adminConnectionArgs(member, config.database, password, ca);
    // A server we do not run is checked before anything is created on it.
    const preflight = new ServerCheck(
      `${name}-preflight`,
      {
        member: member.name,
        connection,
        members: config.members.length,
        recommended: { ...replicationSettings(config.maxMembers) },
        serverGeneration: member.serverGeneration,
        publication: args.publication,
      },
      // A new generation is a new server: checked afresh (and found empty) before anything moves there.
      { parent, replacementTrigger: member.serverGeneration },
    );
    return {
      connection,
      password,
      ...(member.admin.sslrootcert !== undefined ? { caPath: member.admin.sslrootcert } : {}),
      ready: [preflight],
      resources: [preflight],
    };
  },
};
