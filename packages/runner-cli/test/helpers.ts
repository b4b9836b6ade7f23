import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, saveCheckpoint, type StoredTensor } from '@grokking-tickets/run-store';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const tmp = (prefix = 'gt-cli-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** What a CLI invocation printed and how it exited. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  cwd: string;
}

/** Runs the CLI asynchronously (so tests can run at once), off a TTY, with CI=true. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const cwd = opts.cwd ?? tmp();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, CI: 'true', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, cwd }));
  });
}

/**
 * Starts the CLI and resolves once a line of its stderr satisfies `match` (a pattern, or a
 * predicate called once per line), with the child still running. Event-driven: no timers that a
 * slow machine could miss. Rejects if the process ends first.
 */
export function startUntil(
  args: string[],
  match: RegExp | ((line: string) => boolean),
  opts: { cwd?: string } = {},
): Promise<{ child: ChildProcess; exited: Promise<CliResult>; line: string }> {
  const cwd = opts.cwd ?? tmp();
  const test = typeof match === 'function' ? match : (l: string) => match.test(l);
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, cwd })),
  );
  return new Promise((resolve, reject) => {
    let found = false;
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!found && test(line)) {
          found = true;
          resolve({ child, exited, line });
        }
      }
    });
    void exited.then((r) => {
      if (!found)
        reject(
          new Error(`the process ended (code ${r.code}) before the awaited line; stderr: ${r.stderr.slice(-500)}`),
        );
    });
  });
}

/**
 * Rewrites a checkpoint after changing its tensors or meta, with fresh checksums (a deliberate edit, not a bit flip).
 */
export async function rewriteCheckpoint(
  file: string,
  change: (tensors: Record<string, StoredTensor>, meta: Record<string, unknown>) => void,
): Promise<void> {
  const decoded = decodeSafetensors(fs.readFileSync(file));
  const meta = JSON.parse(decoded.metadata.meta!) as Record<string, unknown>;
  change(decoded.tensors, meta);
  await saveCheckpoint(file, { tensors: decoded.tensors, meta });
}

/** Flips one bit in the data section of a safetensors file. */
export function flipBit(file: string, offsetFromEnd = 17): void {
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - offsetFromEnd]! ^= 0x04;
  fs.writeFileSync(file, bytes);
}

/** Every file under a folder (relative paths) with its bytes, for "nothing changed" checks. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Copies a folder (a finished fixture run) to a fresh temp location. */
export function copyRun(src: string): string {
  const dst = path.join(tmp('gt-copy-'), path.basename(src));
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}
