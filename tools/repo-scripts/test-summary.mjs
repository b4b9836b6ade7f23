#!/usr/bin/env node
// Adds up vitest JSON reports (test-results.json in every workspace package) into the one plain
// closing line CI reads, exactly "N passed, M failed" (skipped tests, if any, are reported on the
// line before). `--failed <step>` (repeatable) counts a CI step that failed outside the tests, such
// as lint, as one failure. Exit 1 when anything failed or a package that has tests produced no report.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Sums the reports of every package folder under packages/ and tools/. */
export function summarize(workspaceRoot = root) {
  const total = { passed: 0, failed: 0, skipped: 0, missing: [] };
  for (const group of ['packages', 'tools']) {
    const base = path.join(workspaceRoot, group);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base)) {
      const pkgFile = path.join(base, name, 'package.json');
      if (!fs.existsSync(pkgFile)) continue;
      const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
      if (!pkg.scripts?.test) continue;
      const file = path.join(base, name, 'test-results.json');
      if (!fs.existsSync(file)) {
        total.missing.push(`${group}/${name}`);
        continue;
      }
      const r = JSON.parse(fs.readFileSync(file, 'utf8'));
      total.passed += r.numPassedTests ?? 0;
      // A suite that fails to load has no failed tests of its own; count it once.
      total.failed += (r.numFailedTests ?? 0) + (r.numFailedTests ? 0 : (r.numFailedTestSuites ?? 0));
      total.skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    }
  }
  return total;
}

/** The closing lines for a summary and the names of CI steps that failed outside the tests. */
export function closingLines(t, failedSteps = []) {
  const lines = [
    ...t.missing.map((m) => `test-summary: no test report from ${m} (its tests did not run)`),
    ...failedSteps.map((s) => `test-summary: ${s} failed (counted as one failure)`),
  ];
  if (t.skipped) lines.push(`test-summary: ${t.skipped} skipped`);
  const failed = t.failed + t.missing.length + failedSteps.length;
  lines.push(`${t.passed} passed, ${failed} failed`);
  return { lines, failed };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const failedSteps = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--failed' && args[i + 1]) failedSteps.push(args[++i]);
    else {
      console.log(`test-summary: unknown argument "${args[i]}" (usage: test-summary.mjs [--failed <step>]...)`);
      process.exit(2);
    }
  }
  const { lines, failed } = closingLines(summarize(), failedSteps);
  for (const line of lines) console.log(line);
  process.exit(failed > 0 ? 1 : 0);
}
