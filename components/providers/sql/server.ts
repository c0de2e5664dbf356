/** What the preflight reads of a server. */

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
