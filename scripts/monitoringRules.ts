/**
 * Writes monitoring/federation-rules.yml from components/monitoring/rules.ts:
 * `npx ts-node --transpile-only scripts/monitoringRules.ts` (tests/unit/monitoring.test.ts fails
 * until the file is what the rules say).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { alertRulesYaml } from '../components/monitoring/rules';

export const RULES_FILE = path.join(__dirname, '..', 'monitoring', 'federation-rules.yml');

if (require.main === module) {
  writeFileSync(RULES_FILE, alertRulesYaml());
  console.log(`wrote ${path.relative(process.cwd(), RULES_FILE)}`);
}
