/**
 * The local job under a newcomer's hands, in a fresh clone (tests/support/localClone.ts) with the
 * federation deployed: typos in the local keys, `local:preview` of an added member, Ctrl-C once and
 * twice and a SIGKILL of the whole job (a terminal's Ctrl-C is a SIGINT to the job's process group,
 * as here), two runs at once, a member removed from config, stopped servers, a member whose server
 * was lost, and a second clone beside the first. Each was a way the job broke before (issue 25).
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { stop } from '../../scripts/embedded/postgres';
import { killTree, processTree } from '../../scripts/embedded/processTree';
import { GENERATED_SECRETS } from '../support/secrets';
import { requireEngine } from '../support/engine';
import { ALL_PORTS, LocalClone, MEMBERS, SOUTH, portOpen, sleep, verified } from '../support/localClone';

describe("the local job under a newcomer's hands", function () {
  this.timeout(15 * 60_000);
  let c: LocalClone;
  let second: LocalClone | undefined;
  const npm = (script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) =>
    c.npm(script, args, env);

  before(async function () {
    c = await LocalClone.make('pg-federation-hands-');
  });
  after(function () {
    second?.remove();
    c?.remove();
  });

  it("the local job's keys are checked as the federation's: a typo is refused at once, naming the key it meant; two members on one port, naming both", function () {
    const original = readFileSync(c.localFile, 'utf8');
    try {
      c.editLocal((t) => t.replace('pg-federation-local:tls: false', 'pg-federation-local:tsl: true'));
      const typo = npm('local');
      assert.equal(typo.status, 2, typo.stdout + typo.stderr);
      assert.match(
        typo.stderr,
        /pg-federation-local:tsl: no such key; did you mean pg-federation-local:tls\?/,
      );
      assert.equal(typo.stdout, '', 'nothing started');
      writeFileSync(
        c.localFile,
        original.replace('pg-federation-local:tls: false', 'pg-federation-local:tls: ture'),
      );
      const value = npm('local');
      assert.equal(value.status, 2, value.stdout + value.stderr);
      assert.match(value.stderr, /pg-federation-local:tls: "ture" is not true or false/);
      writeFileSync(c.localFile, original.replace('port: 55433', 'port: 55432'));
      const samePort = npm('local');
      assert.equal(samePort.status, 2, samePort.stdout + samePort.stderr);
      assert.match(
        samePort.stderr,
        /pg-federation:members\[2\]\.port: members "hippo-central" and "hippo-west" are both 127\.0\.0\.1:55432, one server/,
      );
    } finally {
      writeFileSync(c.localFile, original);
    }
  });

  describe('with the Pulumi CLI', function () {
    before(function () {
      requireEngine(this);
      const run = npm('local');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^pulumi up: succeeded; \{"create":47\}$/m);
      GENERATED_SECRETS.add(c.password());
    });

    it('unknown flags are refused with the usage (exit 2); local:preview shows that adding hippo-south only creates', function () {
      const flag = npm('local', ['--preview']);
      assert.equal(flag.status, 2, flag.stdout + flag.stderr);
      assert.match(flag.stderr, /^pg-federation: npm run local takes no arguments \(got --preview\)$/m);
      assert.match(flag.stderr, /^ {2}npm run local:preview +what `npm run local` would change now/m);
      c.editLocal((t) => t + SOUTH);
      const preview = npm('local:preview');
      assert.equal(preview.status, 0, preview.stdout + preview.stderr);
      assert.match(preview.stdout, /^Resources:\n +\+ 23 to create\n +47 unchanged$/m);
      assert.doesNotMatch(preview.stdout, /to (update|replace|delete)/);
    });

    it('Ctrl-C once during npm run local: Pulumi stops gracefully, the job says so (exit 130); the next run goes on, hippo-south joins with every row', async function () {
      const run = c.background('local');
      await run.waitFor(/^ \+ +pulumi-nodejs:dynamic\/pg-federation:Subscription \S+ creating/m);
      run.interrupt();
      assert.equal(await run.done, 130, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        /^pg-federation: stopping: pulumi finishes the steps under way and records them \(Ctrl-C again to stop at once\)$/m,
      );
      assert.match(run.stderr, /^pg-federation: `npm run local` stopped cleanly/m);
      assert.match(run.stdout + run.stderr, /update canceled/);
      const next = npm('local');
      assert.equal(next.status, 0, next.stdout + next.stderr);
      assert.match(next.stdout, /^pulumi up: succeeded; \{"create":\d+,"same":\d+\}$/m);
      const insert = npm('local:insert');
      assert.equal(insert.status, 0, insert.stderr);
      assert.match(insert.stdout, /^hippo-south: inserted 25 rows$/m);
      const every = 'hippo-central 25, hippo-east 25, hippo-south 25, hippo-west 25';
      const rows = verified(npm('local:verify').stdout);
      assert.deepEqual(rows, {
        'hippo-east': every,
        'hippo-central': every,
        'hippo-west': every,
        'hippo-south': every,
      });
    });

    it('two runs at once: the second names the run that holds the stack; a SIGKILLed run is found by the next, local:repair clears it', async function () {
      c.editLocal((t) => t.replace(SOUTH, ''));
      const first = c.background('local');
      await first.waitFor(/^Updating \(local\):$/m);
      const other = npm('local');
      assert.equal(other.status, 1, other.stdout + other.stderr);
      const holder =
        /^pg-federation: another run holds the local stack \(pid (\d+), since [^)]+\): wait for it to end$/m.exec(
          other.stderr,
        );
      assert.ok(holder !== null, other.stderr);
      assert.equal(other.stderr.trim().split('\n').length, 1, other.stderr);
      assert.ok(
        processTree(first.pid).includes(Number(holder[1])),
        "the pid named is the first run's pulumi",
      );
      // A closed laptop: the job, Pulumi and every plugin killed at once, mid-delete.
      await first.waitFor(/^ - +pulumi-nodejs:dynamic\/pg-federation:\S+ \S+ deleting/m);
      killTree(first.pid);
      await first.done;
      const blocked = npm('local');
      assert.equal(blocked.status, 1, blocked.stdout + blocked.stderr);
      assert.match(
        blocked.stderr,
        new RegExp(
          `^pg-federation: a run that was interrupted \\(pid ${holder[1]}\\) left the local stack locked: \`npm run local:repair\` clears it, then run again$`,
          'm',
        ),
      );
      const repair = npm('local:repair');
      assert.equal(repair.status, 0, repair.stdout + repair.stderr);
      assert.match(
        repair.stdout,
        new RegExp(`^repair: removed the lock of the interrupted run \\(pid ${holder[1]}\\)$`, 'm'),
      );
      assert.match(repair.stdout, /^repair: the local stack is whole again/m);
      const next = npm('local');
      assert.equal(next.status, 0, next.stdout + next.stderr);
      const east = new Client({
        host: '127.0.0.1',
        port: 55431,
        user: 'postgres',
        database: 'postgres',
        password: c.password(),
      });
      await east.connect();
      const subs = await east.query<{ subname: string }>('SELECT subname FROM pg_subscription ORDER BY 1');
      const slots = await east.query<{ slot_name: string }>(
        'SELECT slot_name FROM pg_replication_slots ORDER BY 1',
      );
      await east.end();
      assert.deepEqual(
        subs.rows.map((r) => r.subname),
        ['sub_hippo_east_hippo_central', 'sub_hippo_east_hippo_west'],
      );
      assert.deepEqual(
        slots.rows.map((r) => r.slot_name),
        ['sub_hippo_central_hippo_east', 'sub_hippo_west_hippo_east'],
      );
    });

    it("local:status lists every server the job runs, a removed member's too; local:stop stops them all; row commands then exit 1 naming each member and the fix", async function () {
      const status = npm('local:status');
      assert.equal(status.status, 0, status.stdout + status.stderr);
      assert.match(
        status.stdout,
        /^server hippo-south on 127\.0\.0\.1:55434: running \(not in Pulumi\.local\.yaml: `npm run local:stop` stops it\)$/m,
      );
      assert.match(status.stdout, /^healthy$/m);
      const stopped = npm('local:stop');
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.match(stopped.stdout, /^hippo-south: stopped \(not in Pulumi\.local\.yaml\)$/m);
      for (const port of ALL_PORTS) assert.equal(await portOpen(port), false, `stopped on ${port}`);
      for (const [script, args] of [
        ['local:verify', []],
        ['local:insert', ['hippo-east']],
        ['local:status', []],
      ] as const) {
        const run = npm(script, [...args]);
        assert.equal(run.status, 1, `${script}: ${run.stdout}${run.stderr}`);
        for (const [i, member] of MEMBERS.entries()) {
          assert.match(
            run.stderr,
            new RegExp(
              `member "${member}": its server \\(127\\.0\\.0\\.1:${55431 + i}\\) is not running; \`npm run local\` starts it`,
            ),
            script,
          );
        }
        assert.doesNotMatch(run.stderr, /ECONNREFUSED/);
      }
    });

    it('a member whose server was lost (its data folder gone) is rebuilt from its peers by npm run local: the same rows everywhere, healthy', function () {
      const west = c.dataDirs['hippo-west'];
      assert.ok(west !== undefined && existsSync(path.join(west, 'PG_VERSION')), west);
      rmSync(west, { recursive: true, force: true });
      const run = npm('local');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^hippo-west: PostgreSQL \S+ on 127\.0\.0\.1:55433 \(created,/m);
      // Before: {"same":44} over an empty server. Now the refresh sees it and the up rebuilds it.
      assert.match(run.stdout, /^pulumi up: succeeded; \{"create":\d+,.*"replace":\d+/m);
      const every = 'hippo-central 25, hippo-east 25, hippo-west 25';
      assert.deepEqual(verified(npm('local:verify').stdout), {
        'hippo-east': every,
        'hippo-central': every,
        'hippo-west': every,
      });
      const status = npm('local:status');
      assert.equal(status.status, 0, status.stdout + status.stderr);
    });

    it('Ctrl-C twice stops Pulumi at once (exit 130); the next run names the operation left under way; local:repair clears it and the rebuild completes', async function () {
      const central = c.dataDirs['hippo-central'];
      assert.ok(central !== undefined);
      await stop(central);
      rmSync(central, { recursive: true, force: true });
      const run = c.background('local');
      await run.waitFor(
        /^ \+ +pulumi-nodejs:dynamic\/pg-federation:Subscription hippo-central-sub-\S+ creating/m,
      );
      run.interrupt();
      await sleep(150); // a second press, past the job's 100 ms debounce of one press's echoes
      run.interrupt();
      assert.equal(await run.done, 130, run.stdout + run.stderr);
      assert.match(run.stderr, /^pg-federation: stopping at once \(Ctrl-C again to kill pulumi\)$/m);
      assert.match(run.stderr, /^pg-federation: `npm run local` was stopped at once; run it again/m);
      const blocked = npm('local');
      assert.equal(blocked.status, 1, blocked.stdout + blocked.stderr);
      assert.match(
        blocked.stderr,
        /^pg-federation: (the last run was interrupted with \d+ operation\(s\) under way \([^)]*creating hippo-central-sub-[^)]*\)|a run that was interrupted \(pid \d+\) left the local stack locked): `npm run local:repair` clears it, then run again$/m,
      );
      const repair = npm('local:repair');
      assert.equal(repair.status, 0, repair.stdout + repair.stderr);
      const next = npm('local');
      assert.equal(next.status, 0, next.stdout + next.stderr);
      const every = 'hippo-central 25, hippo-east 25, hippo-west 25';
      assert.deepEqual(verified(npm('local:verify').stdout), {
        'hippo-east': every,
        'hippo-central': every,
        'hippo-west': every,
      });
      const status = npm('local:status');
      assert.equal(status.status, 0, status.stdout + status.stderr);
    });

    it("a second clone is refused on the ports the first clone's servers hold, told whose they are and how to move; with basePort both run side by side", async function () {
      second = LocalClone.beside('pg-federation-second-clone-');
      const refused = second.npm('local');
      assert.equal(refused.status, 1, refused.stdout + refused.stderr);
      const advice = new RegExp(
        '^pg-federation: port 55431 of member "hippo-east" is used by another pg-federation clone\'s server ' +
          `\\(data in ${c.dataDirs['hippo-east']?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, pid \\d+\\), not this clone's server: ` +
          "move this clone's servers with `pg-federation-local:basePort: (\\d+)` in Pulumi\\.local\\.yaml",
        'm',
      );
      const base = advice.exec(refused.stderr)?.[1];
      assert.ok(base !== undefined, refused.stderr);
      // The first clone's servers were never touched: its federation is still whole.
      assert.equal(npm('local:status').status, 0);
      const file = second.localFile;
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('config:\n', `config:\n  pg-federation-local:basePort: ${base}\n`),
      );
      const run = second.npm('local');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        new RegExp(`^hippo-east: PostgreSQL \\S+ on 127\\.0\\.0\\.1:${base} \\(created,`, 'm'),
      );
      assert.match(run.stdout, /^pulumi up: succeeded; \{"create":47\}$/m);
      assert.equal(second.npm('local:insert', ['hippo-west']).status, 0);
      assert.equal(second.npm('local:status').status, 0);
      assert.equal(npm('local:status').status, 0);
      const theirs = verified(second.npm('local:verify').stdout);
      assert.deepEqual(theirs, {
        'hippo-east': 'hippo-west 25',
        'hippo-central': 'hippo-west 25',
        'hippo-west': 'hippo-west 25',
      });
      const destroyed = second.npm('local:destroy');
      assert.equal(destroyed.status, 0, destroyed.stderr);
      assert.equal(npm('local:status').status, 0);
    });
  });
});
