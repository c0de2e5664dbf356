/**
 * The closed sets of values config and providers share, defined once. Pure and import-free: the
 * dynamic providers carry it with them when they are serialized.
 */

/** libpq's sslmode values the federation supports (`prefer`/`allow` are never what a federation wants). */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** What happens to a partition holding rows when its member or table leaves the federation. */
export const PARTITION_DELETIONS = ['detach', 'keep', 'drop'] as const;
export type PartitionDeletion = (typeof PARTITION_DELETIONS)[number];
