/** Time to evaluate the Pulumi program under mocks, for meshes whose resource count grows as N². */
import { parseFederationConfig } from '../components/config';
import { Federation } from '../components/federation';
import { installMocks, registered } from '../tests/support/mocks';
import { median, timed } from './stats';

export interface ProgramResult {
  members: number;
  resources: number;
  evaluateMs: number;
}

export async function benchProgram(members: number, rounds: number): Promise<ProgramResult> {
  const config = parseFederationConfig({
    members: Array.from({ length: members }, (_, i) => ({ name: `hippo-${i + 1}` })),
    maxMembers: Math.max(10, members),
  });
  const times: number[] = [];
  let resources = 0;
  for (let round = 0; round < rounds; round++) {
    const recorded = installMocks();
    times.push(
      await timed(async () => {
        const federation = new Federation('federation', { config, passwords: {} });
        await registered([
          ...federation.subscriptions.values(),
          ...federation.landings.values(),
          ...[...federation.nodes.values()].flatMap((n) => [
            ...n.tables.values(),
            n.publication,
            ...n.grants.values(),
            ...n.ownPartitions.values(),
          ]),
        ]);
      }),
    );
    resources = recorded.length;
  }
  return { members, resources, evaluateMs: median(times) };
}
