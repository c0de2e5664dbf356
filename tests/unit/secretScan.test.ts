import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { GENERATED_SECRETS } from '../support/secrets';
import { leakedSecrets, recordOutput } from '../support/secretScan';

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

describe('the secret scan of captured output', function () {
  it('finds a known password in output a test captured without printing (the engine’s, say)', function () {
    const canary = randomBytes(12).toString('hex');
    const before = leakedSecrets();
    GENERATED_SECRETS.add(canary);
    try {
      recordOutput(`Updating (stack): ... password='${canary}' ...`);
      assert.equal(leakedSecrets(), before + 1);
    } finally {
      GENERATED_SECRETS.delete(canary);
    }
  });
});
