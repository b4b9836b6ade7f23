import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { ALLOWED_LARGE, MAX_BYTES, treeProblems } from '../check-tree.mjs';

/** The problems of `files`, each of `size` bytes unless listed in `sizes`. */
function problemsOf(files: string[], sizes: Record<string, number> = {}, size = 1000): string[] {
  return treeProblems(files, (f: string) => sizes[f] ?? size) as string[];
}

const CLEAN = [
  'package.json',
  'package-lock.json',
  'README.md',
  'packages/report/src/render.ts',
  'packages/report/test/report.test.ts',
  'tools/repo-scripts/check-tree.mjs',
  'docs/paper/e7-fourier.md',
  'docs/paper/e7-fourier-accuracy.svg',
  'bench/results/.gitkeep',
  'examples/sweeps/tiny-rates.yaml',
  // names that merely contain the forbidden words are source
  'packages/run-store/src/tmpFiles.ts',
  'docs/distribution.md',
  'packages/training/src/runs.ts',
];

describe('check-tree', () => {
  it('passes a clean list of source files', () => {
    expect(problemsOf(CLEAN)).toEqual([]);
  });

  it.each([
    ['safetensors-0.8.0-cp38-abi3-manylinux_2_17_x86_64.whl', /a package or archive must not be committed/],
    ['packages/report/grokking-tickets-report-0.1.0.tgz', /a package or archive/],
    ['packages/training/prof-tmp.mjs', /a scratch file must not be committed/],
    ['bench/scratch-profile.mjs', /a scratch file/],
    ['packages/report/dist/index.js', /build output or installed packages/],
    ['packages/report/node_modules/vega/package.json', /build output or installed packages/],
    ['packages/training/CPU.20261205.cpuprofile', /a profile or log/],
    ['isolate-0x5d7e-1234-v8.log', /a profile or log/],
    ['packages/models/test-results.json', /a test or build by-product/],
    ['runs/dense-s0/config.json', /run folders/],
  ])('refuses %s', (file, why) => {
    const problems = problemsOf([...CLEAN, file]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(problems[0]).toMatch(why);
  });

  it('refuses a file over the size limit unless it is listed with its reason', () => {
    const big = 'docs/paper/e1-transformer-curves-spectrum-neurons.svg';
    expect(problemsOf([...CLEAN, big], { [big]: 942_246 })).toEqual([
      `${big}: 920 KB is over the 400 KB limit for a tracked file (generate it with a command instead, compress it, or list it in ALLOWED_LARGE with the reason)`,
    ]);
    // exactly at the limit is allowed, one byte over is not
    expect(problemsOf([big], { [big]: MAX_BYTES })).toEqual([]);
    expect(problemsOf([big], { [big]: MAX_BYTES + 1 })).toHaveLength(1);
    // the listed large files pass at any size
    const listed = Object.keys(ALLOWED_LARGE);
    expect(listed).toContain('package-lock.json');
    expect(problemsOf(listed, {}, 50 * MAX_BYTES)).toEqual([]);
  });

  it('reports every problem of a list, one line each', () => {
    const problems = problemsOf(['a.whl', 'src/x-tmp.ts', 'big.json'], { 'big.json': 2 * MAX_BYTES });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['a.whl', 'src/x-tmp.ts', 'big.json']);
    for (const p of problems) expect(p).not.toContain('\n');
  });
});
