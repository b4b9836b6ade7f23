import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { checkWorkspace, importsOf, packageOf } from '../check-deps.mjs';
// @ts-expect-error plain ESM script without types
import { closingLines, summarize } from '../test-summary.mjs';

function fakeWorkspace(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-ws-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('check-deps', () => {
  it('parses import specifiers to package names', () => {
    expect(packageOf('@grokking-tickets/models/sub')).toBe('@grokking-tickets/models');
    expect(packageOf('commander')).toBe('commander');
    expect(packageOf('./x.js')).toBeNull();
    expect(packageOf('node:fs')).toBeNull();
    const found = importsOf(
      `import a from 'a';\nimport { b } from "@s/b/c";\nexport * from './local.js';\nconst c = await import('c');\nimport 'side';\nimport fs from 'fs';`,
    );
    expect([...found].sort()).toEqual(['@s/b', 'a', 'c', 'side']);
    // an import inside a doc comment's example is not an import of the file
    expect([
      ...importsOf(
        `/**\n * @example\n * import { x } from 'in-doc';\n */\n// import y from 'in-line-comment';\nimport z from 'real';`,
      ),
    ]).toEqual(['real']);
  });

  it('passes on this repository', () => {
    expect(checkWorkspace()).toEqual([]);
  });

  it('flags an undeclared sibling import and a loose internal version', () => {
    const ws = fakeWorkspace({
      'package.json': JSON.stringify({ devDependencies: { vitest: '1' } }),
      'packages/a/package.json': JSON.stringify({ name: '@grokking-tickets/a', version: '0.1.0' }),
      'packages/b/package.json': JSON.stringify({
        name: '@grokking-tickets/b',
        version: '0.1.0',
        dependencies: { '@grokking-tickets/a': '^0.1.0' },
      }),
      'packages/b/src/index.ts': `import { x } from '@grokking-tickets/a';\nimport { y } from '@grokking-tickets/c';`,
      'packages/b/test/b.test.ts': `import { it } from 'vitest';`,
    });
    const problems = checkWorkspace(ws) as string[];
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.includes('"@grokking-tickets/c"'))).toBe(true);
    expect(problems.some((p) => p.includes('pinned to 0.1.0'))).toBe(true);
  });
});

describe('test-summary', () => {
  it('adds up reports and counts a missing report as a failure', () => {
    const ws = fakeWorkspace({
      'packages/a/package.json': JSON.stringify({ scripts: { test: 'vitest' } }),
      'packages/a/test-results.json': JSON.stringify({
        numPassedTests: 3,
        numFailedTests: 1,
        numPendingTests: 2,
        numFailedTestSuites: 1,
      }),
      'packages/b/package.json': JSON.stringify({ scripts: { test: 'vitest' } }),
      'packages/b/test-results.json': JSON.stringify({ numPassedTests: 4, numFailedTests: 0, numFailedTestSuites: 1 }),
      'packages/c/package.json': JSON.stringify({ scripts: { test: 'vitest' } }),
      'packages/d/package.json': JSON.stringify({}),
    });
    const t = summarize(ws);
    expect(t.passed).toBe(7);
    expect(t.failed).toBe(2);
    expect(t.skipped).toBe(2);
    expect(t.missing).toEqual(['packages/c']);
  });

  it('counts a failed CI step (lint) as one failure and still ends with the plain closing line', () => {
    const none = { passed: 5, failed: 0, skipped: 0, missing: [] };
    expect(closingLines(none)).toEqual({ lines: ['5 passed, 0 failed'], failed: 0 });
    const { lines, failed } = closingLines({ ...none, skipped: 1, missing: ['packages/c'] }, ['lint']);
    expect(failed).toBe(2);
    expect(lines).toEqual([
      'test-summary: no test report from packages/c (its tests did not run)',
      'test-summary: lint failed (counted as one failure)',
      'test-summary: 1 skipped',
      '5 passed, 2 failed',
    ]);
  });
});
