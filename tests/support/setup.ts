/**
 * A mocha root hook for the whole run: what the program writes outside its state (the CA files of
 * PGO members, see components/servers/pgo.ts) goes to a folder of this run's, removed at the end, so
 * the tests leave nothing behind under the OS temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

let caDir: string | undefined;

export const mochaHooks = {
  beforeAll(): void {
    caDir = mkdtempSync(path.join(tmpdir(), 'pg-federation-test-ca-'));
    process.env.PG_FEDERATION_CA_DIR = caDir;
  },
  afterAll(): void {
    if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
  },
};
