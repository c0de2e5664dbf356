import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { GENERATED_SECRETS } from '../support/secrets';
import { leakedSecrets } from '../support/secretScan';

describe('the secret scan of test output', function () {
  it('finds a generated password in what the process prints (the scan is live)', function () {
    const canary = randomBytes(12).toString('hex');
    const before = leakedSecrets();
    GENERATED_SECRETS.add(canary);
    try {
      // Printed split in two, so this test's own output never holds the canary whole.
      process.stdout.write(`    (canary: ${canary.slice(0, 8)}`);
      process.stdout.write(`${canary.slice(8)})\n`);
      assert.equal(leakedSecrets(), before + 1);
    } finally {
      GENERATED_SECRETS.delete(canary);
    }
  });
});
