import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which code made a run: recorded in every run folder's `config.json` under `code`. */
export interface CodeProvenance {
  /** Versions of the packages whose code decides a run's numbers. */
  packages: Record<string, string>;
  /** The git commit when run from a clone of the repository (null from an installed package). */
  git: { commit: string; dirty: boolean } | null;
  node: string;
  platform: string;
}

/** The packages whose versions identify the code of a run (ours and the tensor library). */
export const CODE_PACKAGES = [
  '@grokking-tickets/training',
  '@grokking-tickets/models',
  '@grokking-tickets/backend',
  '@grokking-tickets/datasets',
  '@grokking-tickets/run-store',
  '@tensorflow/tfjs-core',
] as const;

const require = createRequire(import.meta.url);
let cached: CodeProvenance | undefined;

function versionOf(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/** The git commit of the clone this package runs from, or null for an installed copy (inside node_modules). */
function gitCommit(): CodeProvenance['git'] {
  const here = fs.realpathSync(path.dirname(fileURLToPath(import.meta.url)));
  if (here.split(path.sep).includes('node_modules')) return null;
  try {
    const opts = {
      cwd: here,
      encoding: 'utf8' as const,
      stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return /^[0-9a-f]{40}$/.test(commit) ? { commit, dirty } : null;
  } catch {
    return null;
  }
}

/** This process's code provenance (computed once). */
export function codeProvenance(): CodeProvenance {
  cached ??= {
    packages: Object.fromEntries(CODE_PACKAGES.map((name) => [name, versionOf(name)])),
    git: gitCommit(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  return cached;
}

/**
 * How the code that made a run differs from this process's (package versions only: a commit that
 * changes only documentation does not make a run stale), or null when it is the same code.
 */
export function codeDifference(recorded: unknown): string | null {
  const packages = (recorded as Partial<CodeProvenance> | undefined)?.packages;
  if (!packages || typeof packages !== 'object') return 'it records no code versions (made before they were recorded)';
  const now = codeProvenance().packages;
  for (const name of CODE_PACKAGES) {
    if (packages[name] !== now[name])
      return `it was made by ${name} ${packages[name] ?? '(none)'}, this is ${now[name]}`;
  }
  return null;
}
