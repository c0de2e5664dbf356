/** What the preflight reads of a server. */
import { ident, literal } from './identifiers';

export const server = {
  /** `$1` setting names. */
  settings: 'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
  /** The server's `server_version_num`. */
  version: "SELECT current_setting('server_version_num')::int AS v",
  superuser: 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
  /** Whether the role may read pg_control_system() (superusers may). */
  controlReadable: "SELECT has_function_privilege('pg_control_system()', 'EXECUTE') AS ok",
  /** initdb's identifier, kept by physical standbys. */
  systemIdentifier: 'SELECT system_identifier::text AS id FROM pg_control_system()',
  /** `$1` publication. */
  hasPublication: 'SELECT 1 FROM pg_publication WHERE pubname = $1',
  /** Whether the server answers a query. */
  ping: 'SELECT 1',
  /** Re-read the configuration files (a new certificate, pg_hba.conf). */
  reloadConf: 'SELECT pg_reload_conf()',
};

/** A configuration setting and its value. */
export interface SettingValue {
  name: string;
  setting: string;
}

/** Settings read and set with ALTER SYSTEM (postgresql.auto.conf). */
function settingName(name: string): string {
  return name.split('.').map(ident).join('.');
}

export const settingsSql = {
  /** The settings' current values. `$1` names. */
  current: 'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
  /** What ALTER SYSTEM holds for the settings (postgresql.auto.conf). `$1` names. */
  alterSystem: `SELECT name, setting FROM pg_file_settings
                 WHERE name = ANY($1) AND sourcefile LIKE '%postgresql.auto.conf' AND error IS NULL
                 ORDER BY seqno`,
  /** Make a custom setting known to this session (empty, for the session only). `$1` name. */
  placeholder: "SELECT set_config($1, '', false)",
  /** Not in a transaction block; takes effect with a reload. A dotted (custom) name is quoted by part. */
  set(name: string, value: string): string {
    return `ALTER SYSTEM SET ${settingName(name)} = ${literal(value)}`;
  },
  reset(name: string): string {
    return `ALTER SYSTEM RESET ${settingName(name)}`;
  },
};
