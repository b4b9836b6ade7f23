import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '@grokking-tickets/backend';
import { createModel, type Batch, type NamedArrays } from '@grokking-tickets/models';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_PRUNERS,
  PrunerError,
  buildMask,
  definePruner,
  getPruner,
  listPruners,
  loadPruner,
  scheduledKeepFraction,
  thresholdScores,
  type Pruner,
  type ScoringContext,
} from '../src/index.js';
import { assertPrunerConforms, checkPrunerConformance } from '../src/testing.js';

const fx = JSON.parse(fs.readFileSync(new URL('./fixtures/pruner_scores.json', import.meta.url), 'utf8')) as {
  config: { vocab: number; dEmb: number; dModel: number };
  weights: Record<string, number[]>;
  masks: Record<string, number[]>;
  pairs: { a: number[]; b: number[]; labels: number[] };
  scores: Record<string, Record<string, number[]>>;
};

beforeAll(async () => {
  await initBackend('wasm');
});

function fixtureContext(): ScoringContext {
  const model = createModel('mlp', fx.config);
  const weights: NamedArrays = Object.fromEntries(Object.entries(fx.weights).map(([k, v]) => [k, Float32Array.from(v)]));
  const masks: NamedArrays = Object.fromEntries(Object.entries(fx.masks).map(([k, v]) => [k, Float32Array.from(v)]));
  const batch: Batch = { kind: 'pairs', a: Int32Array.from(fx.pairs.a), b: Int32Array.from(fx.pairs.b), labels: Int32Array.from(fx.pairs.labels) };
  return { model, weights, masks, prunable: ['W_E', 'W_in', 'W_out', 'W_U'], batch, seed: 0, round: 1, rounds: 1 };
}

// Tolerances: the fixture is float64; tfjs computes in float32. First-order scores (SNIP, SynFlow)
// carry ~1e-7 relative rounding per operation over a few dozen accumulated terms: 1e-4 of the
// largest score is ample. GraSP's Hessian-gradient product is two differentiation passes through
// float32 gradients of size ~1/T: 2e-3 of the largest |score|.
describe.each([
  ['magnitude', 1e-7],
  ['snip', 1e-4],
  ['synflow', 1e-4],
  ['grasp', 2e-3],
])('%s scores match the float64 fixture (make_pruner_fixtures.py)', (name, tol) => {
  it('every weight', async () => {
    const scores = await getPruner(name).score(fixtureContext());
    for (const [tensor, expected] of Object.entries(fx.scores[name]!)) {
      const scale = Math.max(...expected.map(Math.abs));
      const got = scores[tensor]!;
      expect(got).toHaveLength(expected.length);
      expected.forEach((e, i) => expect(Math.abs(got[i]! - e), `${tensor}[${i}]: ${got[i]} vs ${e}`).toBeLessThanOrEqual(tol * scale));
    }
  });
});

describe('thresholdScores (spec §5.3, §10 item 5)', () => {
  it('N = 10, κ = 0.4: exactly the 6 smallest are removed', () => {
    const s = { w: Float64Array.from([5, -1, 3, 9, 0.5, 7, 2, 8, 4, 6]) };
    expect(Array.from(thresholdScores(s, 0.4, 'global').w!)).toEqual([0, 0, 0, 1, 0, 1, 0, 1, 0, 1]);
  });
  it('ties at the threshold are also removed; k < 1 leaves everything', () => {
    const s = { w: Float64Array.from([1, 2, 2, 2, 3]) };
    // k = floor(0.4·5) = 2, τ = 2, every score ≤ 2 goes
    expect(Array.from(thresholdScores(s, 0.6, 'global').w!)).toEqual([0, 0, 0, 0, 1]);
    expect(Array.from(thresholdScores({ w: Float64Array.from([3, 1]) }, 0.6, 'global').w!)).toEqual([1, 1]);
  });
  it('global ranks across tensors, local within each', () => {
    const s = { a: Float64Array.from([1, 2, 3, 4]), b: Float64Array.from([10, 20, 30, 40]) };
    expect(Array.from(thresholdScores(s, 0.5, 'global').a!)).toEqual([0, 0, 0, 0]);
    expect(Array.from(thresholdScores(s, 0.5, 'global').b!)).toEqual([1, 1, 1, 1]);
    expect(Array.from(thresholdScores(s, 0.5, 'local').a!)).toEqual([0, 0, 1, 1]);
    expect(Array.from(thresholdScores(s, 0.5, 'local').b!)).toEqual([0, 0, 1, 1]);
  });
});

describe('buildMask', () => {
  const sizes = (kind: string, options = {}) => {
    const model = createModel(kind, options);
    const weights: NamedArrays = Object.fromEntries(model.params.map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]));
    return { model, weights };
  };
  it('counts of spec §5.3: MLP keeps 46 000 of 115 000 at κ 0.4, Transformer 46 183 of 115 456', async () => {
    const mlp = sizes('mlp');
    expect((await buildMask(getPruner('random'), { ...mlp, seed: 1 }, { pruningRate: 0.6 })).kept).toBe(46000);
    const tr = sizes('transformer');
    expect((await buildMask(getPruner('random'), { ...tr, seed: 1 }, { pruningRate: 0.6 })).kept).toBe(46183);
    const r = await buildMask(getPruner('random'), { ...mlp, seed: 1 }, { pruningRate: 0.81 });
    expect(r.kept).toBe(21850);
    expect(r.keepFraction).toBeCloseTo(0.19, 12);
    // random scores remove about the same fraction from every tensor
    for (const t of Object.values(r.perTensor)) expect(Math.abs(t.kept / t.total - 0.19)).toBeLessThan(0.02);
  });

  it('schedules: linear and exponential targets per round, both end at κ', () => {
    expect([1, 2, 3, 4].map((e) => scheduledKeepFraction(0.2, e, 4, 'linear'))).toEqual([0.8, 0.6, 0.3999999999999999, 0.19999999999999996]);
    expect(scheduledKeepFraction(0.2, 2, 4, 'exponential')).toBeCloseTo(Math.sqrt(0.2), 12);
    expect(scheduledKeepFraction(0.2, 4, 4, 'exponential')).toBeCloseTo(0.2, 12);
  });

  it('rounds rescore the masked model; magnitude over rounds equals one shot (raw weights)', async () => {
    const ctx = fixtureContext();
    const seen: number[] = [];
    const spy = definePruner({ ...getPruner('magnitude'), name: 'spy', score: (c) => (seen.push(c.round), getPruner('magnitude').score(c)) });
    const many = await buildMask(spy, { ...ctx, masks: undefined }, { pruningRate: 0.5, schedule: 'exponential', rounds: 3 });
    const once = await buildMask(getPruner('magnitude'), { ...ctx, masks: undefined }, { pruningRate: 0.5 });
    expect(seen).toEqual([1, 2, 3]);
    expect(many.masks).toEqual(once.masks);
    expect(many.rounds).toBe(3);
  });

  it('invert keeps the smallest magnitudes; shuffle keeps per-tensor densities and is seeded', async () => {
    const ctx = { ...fixtureContext(), masks: undefined };
    const normal = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5 });
    const inv = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5, invert: true });
    const w = ctx.weights.W_U!;
    const keptMax = (m: Float32Array) => Math.max(...Array.from(w).filter((_, i) => m[i]).map(Math.abs));
    const keptMin = (m: Float32Array) => Math.min(...Array.from(w).filter((_, i) => m[i]).map(Math.abs));
    expect(keptMax(inv.masks.W_U!)).toBeLessThanOrEqual(keptMin(normal.masks.W_U!) + 1e-12);
    const sh = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5, shuffle: true });
    const sh2 = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5, shuffle: true });
    expect(sh.perTensor).toEqual(normal.perTensor);
    expect(sh.masks).toEqual(sh2.masks);
    expect(sh.masks).not.toEqual(normal.masks);
  });

  it.each([
    [{ pruningRate: 1 }, /pruning rate must be in \[0, 1\), got 1/],
    [{ pruningRate: -0.2 }, /pruning rate/],
    [{ pruningRate: 0.5, rounds: 0 }, /rounds must be a positive integer/],
    [{ pruningRate: 0.5, rounds: 3 }, /one-shot schedule has one round/],
    [{ pruningRate: 0.5, scope: 'layer' }, /scope must be global or local/],
    [{ pruningRate: 0.5, prunable: ['W_X'] }, /"W_X" is not a prunable parameter/],
  ])('rejects %j', async (options, message) => {
    await expect(buildMask(getPruner('magnitude'), { ...fixtureContext(), masks: undefined }, options as never)).rejects.toThrow(message);
  });

  it('data-dependent pruners need the training set', async () => {
    await expect(buildMask(getPruner('snip'), { ...fixtureContext(), masks: undefined, batch: undefined }, { pruningRate: 0.5 })).rejects.toThrow(/needs scoring data/);
  });
});

describe('loading pruners', () => {
  it('built-ins by name; unknown names list them', async () => {
    expect(listPruners()).toEqual(expect.arrayContaining(['random', 'magnitude', 'snip', 'grasp', 'synflow']));
    expect((await loadPruner('snip')).name).toBe('snip');
    await expect(loadPruner('nonesuch')).rejects.toThrow(PrunerError);
    await expect(loadPruner('nonesuch')).rejects.toThrow(/cannot load pruner "nonesuch": not found \(built-in: random, magnitude, snip, grasp, synflow/);
  });
  it('a module path default-exporting a pruner; a module that does not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-pruner-'));
    const api = pathToFileURL(path.resolve('src/index.ts')).href;
    fs.writeFileSync(path.join(dir, 'good.mjs'), `export default { name: 'first-weight', description: 'x', needsData: false, score: (c) => Object.fromEntries(c.prunable.map((n) => [n, c.weights[n].map((_, i) => i)])) };\n`);
    fs.writeFileSync(path.join(dir, 'bad.mjs'), `export default { name: 'half' };\n`);
    const good = await loadPruner('./good.mjs', dir);
    expect(good.name).toBe('first-weight');
    await expect(loadPruner(path.join(dir, 'bad.mjs'))).rejects.toThrow(/does not default-export a pruner: pruner "half" has no score\(ctx\) function/);
    expect(api).toContain('index.ts');
  });
});

describe('conformance kit', () => {
  it.each(BUILTIN_PRUNERS.map((p) => [p.name, p] as const))('built-in %s conforms', async (_n, pruner) => {
    await assertPrunerConforms(pruner);
  });
  it('catches broken pruners', async () => {
    const nan: Pruner = { name: 'nan', description: 'x', needsData: false, score: (c) => Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(c.weights[n]!.length).fill(Number.NaN)])) };
    const short: Pruner = { name: 'short', description: 'x', needsData: false, score: (c) => Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(3)])) };
    let calls = 0;
    const flaky: Pruner = { name: 'flaky', description: 'x', needsData: false, score: (c) => Object.fromEntries(c.prunable.map((n) => [n, c.weights[n]!.map(() => ++calls)])) };
    await expect(assertPrunerConforms(nan)).rejects.toThrow(/no NaN: "W_E"\[0\] is NaN/);
    await expect(assertPrunerConforms(short)).rejects.toThrow(/3 scores for/);
    const checks = await checkPrunerConformance(flaky);
    expect(checks.find((c) => c.name === 'is deterministic for a seed')!.ok).toBe(false);
  });
});
