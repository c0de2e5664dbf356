/**
 * The passwords the tests know: the embedded servers' superuser password and every password a test
 * generates or sets. tests/support/secretScan.ts fails the run if any of them is ever printed.
 */
import { SERVER_PASSWORD } from '../../scripts/embedded/serverSet';

/** The superuser password of this run's servers. */
export const TEST_PASSWORD = SERVER_PASSWORD;

/** Every password the tests generate; none may appear in what they print. */
export const GENERATED_SECRETS = new Set<string>([TEST_PASSWORD]);
