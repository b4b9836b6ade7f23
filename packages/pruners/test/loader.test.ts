import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_PRUNERS,
  PrunerError,
  definePruner,
  getPruner,
  listPruners,
  loadPruner,
  registerPruner,
} from '../src/index.js';

const BUILTINS = 'random, magnitude, snip, grasp, synflow';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-pruners-'));
const api = pathToFileURL(path.resolve(import.meta.dirname, '../src/index.ts')).href;
const write = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
};
// What a pruner author writes (test/fixtures/first-index-pruner.mjs), with its import of this
// package pointed at the source, since a temp dir has no node_modules.
const authored = fs.readFileSync(new URL('./fixtures/first-index-pruner.mjs', import.meta.url), 'utf8');
write('first-index.mjs', authored.replace("'@grokking-tickets/pruners'", JSON.stringify(api)));
write('half.mjs', `export default { name: 'half', description: 'no score' };\n`);
write('named-only.mjs', `export const pruner = { name: 'x', description: '', needsData: false, score: () => ({}) };\n`);
write('broken.mjs', `throw new Error('boom while loading');\n`);
write(
  'node_modules/pruner-from-cwd/package.json',
  JSON.stringify({
    name: 'pruner-from-cwd',
    version: '1.0.0',
    type: 'module',
    exports: { '.': { default: './index.js' } },
  }),
);
write(
  'node_modules/pruner-from-cwd/index.js',
  `export default { name: 'from-cwd', description: 'installed in the project', needsData: false, score: (ctx) => Object.fromEntries(ctx.prunable.map((n) => [n, Float64Array.from(ctx.weights[n], Math.abs)])) };\n`,
);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('registry', () => {
  it('lists the built-ins in the reference order; getPruner names the known ones when it fails', () => {
    expect(listPruners().slice(0, 5)).toEqual(['random', 'magnitude', 'snip', 'grasp', 'synflow']);
    expect(BUILTIN_PRUNERS.map((p) => p.name)).toEqual(['random', 'magnitude', 'snip', 'grasp', 'synflow']);
    expect(() => getPruner('magnitud')).toThrow(PrunerError);
    expect(() => getPruner('magnitud')).toThrow(`unknown pruner "magnitud" (known: ${BUILTINS}`);
  });
  it('registerPruner adds (and checks) a pruner', async () => {
    registerPruner(
      definePruner({ name: 'registered-at-run-time', description: '', needsData: false, score: () => ({}) }),
    );
    expect(listPruners()).toContain('registered-at-run-time');
    expect((await loadPruner('registered-at-run-time')).name).toBe('registered-at-run-time');
    expect(() => registerPruner({ name: 'bad' } as never)).toThrow(
      /registerPruner: pruner "bad" has no score\(ctx\) function/,
    );
  });
  it('definePruner returns its argument and rejects malformed objects', () => {
    const p = { name: 'ok', description: '', needsData: false, score: () => ({}) };
    expect(definePruner(p)).toBe(p);
    expect(() => definePruner({ ...p, needsData: 'yes' } as never)).toThrow(
      /definePruner: pruner "ok" must say whether it needsData/,
    );
    expect(() => definePruner({ ...p, name: '' })).toThrow(/missing a non-empty string "name"/);
    expect(() => definePruner(null as never)).toThrow(/not a pruner object/);
  });
});

describe('loadPruner', () => {
  it('a built-in name', async () => {
    expect(await loadPruner('snip')).toBe(getPruner('snip'));
  });

  it('a path to a module default-exporting definePruner(...), relative to cwd or absolute', async () => {
    const p = await loadPruner('./first-index.mjs', dir);
    expect(p.name).toBe('first-index');
    const s = await p.score({ prunable: ['W'], weights: { W: new Float32Array(3) } } as never);
    expect(Array.from(s.W!)).toEqual([-0, -1, -2]);
    expect((await loadPruner(path.join(dir, 'first-index.mjs'))).name).toBe('first-index');
  });

  it('an installed package name, resolved from cwd', async () => {
    expect((await loadPruner('pruner-from-cwd', dir)).name).toBe('from-cwd');
  });

  it('an unknown name: one PrunerError line listing the built-ins, the load error as cause', async () => {
    const err = await loadPruner('no-such-pruner', dir).then(
      () => {
        throw new Error('expected a PrunerError');
      },
      (e: unknown) => e as PrunerError,
    );
    expect(err).toBeInstanceOf(PrunerError);
    expect(err.message).toBe(
      `cannot load pruner "no-such-pruner": no such pruner, package or module (built-in: ${BUILTINS}; or an installed package name, or a path to a module)`,
    );
    expect(err.message).not.toContain('\n');
    expect(err.cause).toBeInstanceOf(Error);
    await expect(loadPruner('./missing.mjs', dir)).rejects.toThrow(
      /cannot load pruner "\.\/missing\.mjs": no such pruner, package or module/,
    );
  });

  it('a module whose default export is not a pruner, or that has none', async () => {
    await expect(loadPruner('./half.mjs', dir)).rejects.toThrow(
      `"./half.mjs" does not default-export a pruner: pruner "half" has no score(ctx) function (export default definePruner({...}) from @grokking-tickets/pruners; built-in: ${BUILTINS})`,
    );
    await expect(loadPruner('./named-only.mjs', dir)).rejects.toThrow(
      /"\.\/named-only\.mjs" does not default-export a pruner: not a pruner object \(got undefined\)/,
    );
  });

  it('a module that throws on import: its first line, chained as cause', async () => {
    const err = await loadPruner('./broken.mjs', dir).then(
      () => {
        throw new Error('expected a PrunerError');
      },
      (e: unknown) => e as PrunerError,
    );
    expect(err).toBeInstanceOf(PrunerError);
    expect(err.message).toMatch(/^cannot load pruner "\.\/broken\.mjs": boom while loading \(built-in: /);
    expect((err.cause as Error).message).toBe('boom while loading');
  });
});
