import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockedError, RunFolderError } from './errors.js';

/** Name of the lock file inside a locked folder. */
export const LOCK_FILE = '.lock';

/** Who holds a lock: written as JSON into `<folder>/.lock`. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Linux boot id: a lock from before a reboot is stale even if its pid is alive again. */
  bootId: string | null;
  /** Start time of the holder process (Linux clock ticks since boot), to tell a reused pid apart. */
  pidStart: string | null;
  /** What the holder is doing, e.g. `grokking-tickets train`. */
  command: string;
  startedAt: string;
  token: string;
}

/** A held lock; `release` removes it (only if it is still ours). */
export interface FolderLock {
  readonly dir: string;
  readonly holder: LockHolder;
  release(): void;
}

/** How long a lock held by a process on another host may go without a heartbeat before it counts as stale. */
export const REMOTE_STALE_MS = 5 * 60_000;
const HEARTBEAT_MS = 30_000;

function readFileOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

const BOOT_ID = readFileOrNull('/proc/sys/kernel/random/boot_id');

/** Field 22 of /proc/<pid>/stat (start time), or null off Linux or when the process is gone. */
function processStart(pid: number): string | null {
  const stat = readFileOrNull(`/proc/${pid}/stat`);
  if (!stat) return null;
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Why a lock is stale, or null when its holder may still be alive. Same host: stale when the boot
 * id differs, the pid is dead, or the pid now belongs to a process that started later (reused pid).
 * Another host (a shared folder): stale only when its heartbeat is older than {@link REMOTE_STALE_MS}.
 */
function staleReason(holder: LockHolder, mtimeMs: number): string | null {
  if (holder.host === os.hostname()) {
    if (holder.bootId && BOOT_ID && holder.bootId !== BOOT_ID) return 'left from before a reboot';
    if (!pidAlive(holder.pid)) return `process ${holder.pid} is gone`;
    if (holder.pidStart && holder.pid !== process.pid) {
      const now = processStart(holder.pid);
      if (now && now !== holder.pidStart) return `process ${holder.pid} is gone (its pid was reused)`;
    }
    return null;
  }
  const age = Date.now() - mtimeMs;
  return age > REMOTE_STALE_MS ? `no heartbeat from ${holder.host} for ${Math.round(age / 1000)} s` : null;
}

function describe(holder: LockHolder): string {
  return `${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.token === 'string' ? h : null;
  } catch {
    return null;
  }
}

/**
 * Takes the exclusive lock of `dir` (which must exist): creates `<dir>/.lock` with O_EXCL, holding
 * who took it. A lock whose holder is dead (see above) is taken over, after checking that it is
 * still the same stale lock; a live holder gives a {@link LockedError} naming it. While held, the
 * lock file's mtime is refreshed every 30 s (an unref'd timer) for readers on other hosts.
 *
 * Why not proper-lockfile: it judges staleness by mtime alone, so a lock left by a SIGKILLed run
 * blocks a resume for the whole stale period, and a long synchronous tfjs phase (the event loop
 * blocked, no heartbeat) lets another process steal a live lock. A pid check answers at once on the
 * same host, which is where nearly all runs are.
 */
export function acquireLock(dir: string, command: string): FolderLock {
  const file = path.join(dir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    bootId: BOOT_ID,
    pidStart: processStart(process.pid),
    command,
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
  const text = JSON.stringify(holder) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return held(dir, file, holder);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new RunFolderError(`cannot lock ${dir}: the folder does not exist`);
      if (code !== 'EEXIST')
        throw new RunFolderError(`cannot lock ${dir}: ${code ?? (e as Error).message}`, { cause: e });
    }
    let existing: string;
    let mtimeMs: number;
    try {
      existing = fs.readFileSync(file, 'utf8');
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      continue; // released between our open and read: try again
    }
    const other = parseHolder(existing);
    // An empty or unreadable lock file: its writer died between create and write (or it was
    // damaged). Treat it as stale once it is a few seconds old, so a writer in progress is not robbed.
    const reason = other ? staleReason(other, mtimeMs) : Date.now() - mtimeMs > 5000 ? 'unreadable lock file' : null;
    if (!reason) {
      if (!other) continue;
      throw new LockedError(`${dir} is in use by ${describe(other)}; wait for it to finish or stop it`);
    }
    // Take over: only if the file is still the stale one we read (another process may have won).
    if (fs.existsSync(file) && readFileOrNull(file) === existing.trim()) fs.rmSync(file, { force: true });
  }
  throw new LockedError(`${dir}: could not take the lock (other processes kept taking it)`);
}

function held(dir: string, file: string, holder: LockHolder): FolderLock {
  const timer = setInterval(() => {
    try {
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // the folder was removed; nothing to refresh
    }
  }, HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    dir,
    holder,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const current = parseHolder(readFileOrNull(file) ?? '');
      if (current?.token === holder.token) fs.rmSync(file, { force: true });
    },
  };
}

/** Who holds the lock of `dir` now (null when it is free or the lock is stale). */
export function lockHolder(dir: string): LockHolder | null {
  const file = path.join(dir, LOCK_FILE);
  const text = readFileOrNull(file);
  if (text === null) return null;
  const h = parseHolder(text);
  if (!h) return null;
  let mtimeMs = Date.now();
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
  return staleReason(h, mtimeMs) ? null : h;
}
