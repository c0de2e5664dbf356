/**
 * A process and everything it started, from /proc (Linux): what a crash takes at once. The Pulumi
 * CLI starts each plugin in a process group of its own, and a PostgreSQL server's backends are its
 * children, so a group kill takes neither whole; this walks the parent links instead.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Every live process's parent, by pid. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `pid` and every process descended from it. */
export function processTree(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [child, parent] of parents()) byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  const out: number[] = [];
  const visit = (p: number): void => {
    out.push(p);
    for (const c of byParent.get(p) ?? []) visit(c);
  };
  visit(pid);
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGKILL a process and all its descendants at once, as the kernel's OOM killer or a CI timeout
 * does: the tree is stopped first (SIGSTOP) so nothing forks or cleans up meanwhile. Returns the
 * pids killed.
 */
export function killTree(pid: number): number[] {
  const stopped = new Set<number>();
  for (let round = 0; round < 3; round++) {
    for (const p of processTree(pid)) {
      if (stopped.has(p)) continue;
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
  }
  for (const p of stopped) signal(p, 'SIGKILL');
  return [...stopped];
}

/**
 * Whether a process still exists: a zombie not yet reaped counts, since its pid still holds what
 * a new server checks (a postmaster's lock files name it).
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
