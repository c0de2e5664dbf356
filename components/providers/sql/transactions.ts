/** A transaction, and the federation's schema lock held for it (an advisory transaction lock). */

export const transactions = {
  begin: 'BEGIN',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  /** `$1` the lock's name. */
  lock: 'SELECT pg_advisory_xact_lock(hashtext($1))',
};
