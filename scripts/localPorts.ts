/**
 * Whose a loopback port is: this clone's own server (its data directory's postmaster.pid names the
 * port and a live postmaster), or something else — another clone's server, another PostgreSQL, any
 * program — told by the process that listens there (Linux: /proc/net/tcp and the process's fds).
 * No local command ever connects to a member's port that is not its own server's.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { alive } from './embedded/processTree';

/** The postmaster of a data directory, when one runs: its pid and port. */
export function postmasterOf(dataDir: string): { pid: number; port: number } | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? { pid, port } : undefined;
}

/** Does anything accept TCP connections on this loopback port? */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The socket inodes listening on a TCP port (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth column.
      if (cols[1]?.endsWith(`:${hex}`) === true && cols[3] === '0A' && cols[9] !== undefined)
        inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** Who listens on a port, in words ("the PostgreSQL server with data in …, pid …"), if it can be told. */
export function portOwner(port: number): string | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const pids = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return inodes.has(target.replace(/^socket:\[(\d+)\]$/, '$1'));
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    const dataDir = argv[argv.indexOf('-D') + 1];
    if (argv.indexOf('-D') >= 0 && dataDir !== undefined) {
      const clone = /\/(\.local\/servers|pg-federation-[0-9a-f]{12}\/servers)\//.test(`${dataDir}/`)
        ? "another pg-federation clone's server"
        : 'a PostgreSQL server';
      return `${clone} (data in ${path.dirname(path.join(dataDir, 'x'))}, pid ${pid})`;
    }
    return `pid ${pid} (${argv.join(' ').slice(0, 80)})`;
  }
  return 'a process this user cannot see';
}

/**
 * A base port whose next `count` ports are all free (for basePort). Below Linux's range of ports the
 * kernel hands out to any program that asks for one (32768–60999 by default), so no test server or
 * client socket takes one of them between the suggestion and the start.
 */
export async function freeBasePort(count: number, from = 25431): Promise<number> {
  for (let base = from; base < 32768 - count; base += 1000) {
    const taken = await Promise.all(Array.from({ length: count }, (_, i) => portTaken(base + i)));
    if (!taken.some((t) => t)) return base;
  }
  return from;
}
