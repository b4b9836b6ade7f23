#!/usr/bin/env node
// Refuses build artefacts, scratch files and oversized files among the files git tracks: a wheel,
// a tarball, a profile or a scratch script committed by mistake fails `npm run lint` (and CI).
// Files over the size limit must be listed in ALLOWED_LARGE with the reason they are kept.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Patterns of paths that are never source: build output, packages, profiles, scratch files. */
export const FORBIDDEN = [
  { pattern: /(^|\/)(dist|node_modules|\.nx|coverage)\//, why: 'build output or installed packages' },
  { pattern: /\.(whl|tgz|tar|tar\.gz|zip|egg|jar)$/, why: 'a package or archive' },
  { pattern: /\.(cpuprofile|heapprofile|heapsnapshot|log)$|(^|\/)isolate-[^/]*\.log$/, why: 'a profile or log' },
  { pattern: /(^|\/)[^/]*[-_.](tmp|scratch)\.[a-z]+$|(^|\/)(tmp|scratch)[-_][^/]*$/, why: 'a scratch file' },
  { pattern: /(^|\/)test-results\.json$|\.tsbuildinfo$/, why: 'a test or build by-product' },
  { pattern: /(^|\/)runs\//, why: 'run folders (results belong in docs as tables, made by a committed command)' },
];

/** The most bytes a tracked file may have unless it is listed in ALLOWED_LARGE. */
export const MAX_BYTES = 400 * 1024;

/** Large files that are kept on purpose, with the reason. */
export const ALLOWED_LARGE = {
  'package-lock.json': 'the lock file pins every dependency',
  'docs/report-screenshot.png': 'the README links it',
};

/** The problems of a list of tracked files, one line each (empty when the tree is clean). */
export function treeProblems(files, sizeOf) {
  const problems = [];
  for (const file of files) {
    const hit = FORBIDDEN.find((f) => f.pattern.test(file));
    if (hit) problems.push(`${file}: ${hit.why} must not be committed (add it to .gitignore)`);
    else if (!(file in ALLOWED_LARGE) && sizeOf(file) > MAX_BYTES)
      problems.push(
        `${file}: ${Math.round(sizeOf(file) / 1024)} KB is over the ${MAX_BYTES / 1024} KB limit for a tracked file ` +
          '(generate it with a command instead, compress it, or list it in ALLOWED_LARGE with the reason)',
      );
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  const sizeOf = (f) => {
    try {
      return fs.statSync(path.join(root, f)).size;
    } catch {
      return 0; // deleted in the work tree, not yet in the index
    }
  };
  const problems = treeProblems(files, sizeOf);
  for (const p of problems) console.error(`check-tree: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`check-tree: ${files.length} tracked files, no artefacts`);
}
