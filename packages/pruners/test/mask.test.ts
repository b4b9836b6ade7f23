import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights, type NamedArrays } from '@grokking-tickets/models';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PrunerError,
  buildMask,
  definePruner,
  getPruner,
  scheduledKeepFraction,
  thresholdScores,
  type Pruner,
} from '../src/index.js';
import { fixtureContext, ones } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const f64 = (...xs: number[]) => Float64Array.from(xs);
const arr = (m: Float32Array | undefined) => Array.from(m!);

describe('thresholdScores (protocol §5.3, §10 item 5)', () => {
  it('N = 10, κ = 0.4: k = 6, exactly the 6 smallest are removed', () => {
    const m = thresholdScores({ w: f64(5, 0.1, 3, 9, 0.5, 7, 2, 8, 4, 6) }, 0.4, 'global');
    expect(arr(m.w)).toEqual([0, 0, 0, 1, 0, 1, 0, 1, 0, 1]); // 9, 7, 8, 6 stay
  });
  it('ties at the threshold are also removed (so at least k go)', () => {
    // k = 6, the 6th smallest is 4, and three scores equal 4: 8 are removed
    expect(arr(thresholdScores({ w: f64(4, 1, 4, 9, 2, 4, 3, 8, 0.5, 6) }, 0.4, 'global').w)).toEqual([
      0, 0, 0, 1, 0, 0, 0, 1, 0, 1,
    ]);
  });
  it('k < 1 leaves every weight (κ 0.95 of 10: k = floor(0.5) = 0), and κ = 1 too', () => {
    for (const kappa of [0.95, 1])
      expect(arr(thresholdScores({ w: f64(3, 1, 2, 0, 5, 4, 9, 8, 7, 6) }, kappa, 'global').w)).toEqual(
        Array(10).fill(1),
      );
  });
  it('global ranks across tensors, local within each', () => {
    const s = { a: f64(1, 2, 3, 4), b: f64(10, 20, 30, 40) };
    expect(thresholdScores(s, 0.5, 'global')).toEqual({
      a: new Float32Array([0, 0, 0, 0]),
      b: new Float32Array([1, 1, 1, 1]),
    });
    expect(thresholdScores(s, 0.5, 'local')).toEqual({
      a: new Float32Array([0, 0, 1, 1]),
      b: new Float32Array([0, 0, 1, 1]),
    });
  });
  it('signed scores: the most negative go first (GraSP)', () => {
    expect(arr(thresholdScores({ w: f64(-3, 2, -1, 0.5) }, 0.5, 'global').w)).toEqual([0, 1, 0, 1]);
  });
});

// An mlp with vocab 3, dEmb 1, dModel 2 has exactly N = 10 weights (W_E 1×3, W_in 2×1, W_out 1×2, W_U 1×3).
const tiny = createModel('mlp', { vocab: 3, dEmb: 1, dModel: 2 });
const tinyWeights = (values: number[]): NamedArrays => ({
  W_E: Float32Array.from(values.slice(0, 3)),
  W_in: Float32Array.from(values.slice(3, 5)),
  W_out: Float32Array.from(values.slice(5, 7)),
  W_U: Float32Array.from(values.slice(7, 10)),
});
const flat = (m: NamedArrays) => ['W_E', 'W_in', 'W_out', 'W_U'].flatMap((n) => arr(m[n]));

describe('buildMask with magnitude on a synthetic vector (protocol §10 item 5)', () => {
  it('N = 10, pruning rate 0.6 (κ 0.4): the 6 smallest |w| are removed', async () => {
    const r = await buildMask(
      getPruner('magnitude'),
      { model: tiny, weights: tinyWeights([5, -0.1, 3, -9, 0.5, 7, -2, 8, 4, -6]), seed: 0 },
      { pruningRate: 0.6 },
    );
    expect(flat(r.masks)).toEqual([0, 0, 0, 1, 0, 1, 0, 1, 0, 1]); // |w| 9, 7, 8, 6 stay
    expect([r.kept, r.total, r.pruningRate, r.rounds]).toEqual([4, 10, 0.6, 1]);
    expect(r.keepFraction).toBeCloseTo(0.4, 15);
    expect(r.perTensor).toEqual({
      W_E: { kept: 0, total: 3 },
      W_in: { kept: 1, total: 2 },
      W_out: { kept: 1, total: 2 },
      W_U: { kept: 2, total: 3 },
    });
  });
  it('ties at the threshold are removed; k < 1 keeps everything', async () => {
    const ctx = { model: tiny, weights: tinyWeights([4, 1, -4, 9, 2, 4, 3, 8, 0.5, 6]), seed: 0 };
    expect(flat((await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.6 })).masks)).toEqual([
      0, 0, 0, 1, 0, 0, 0, 1, 0, 1,
    ]);
    const none = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.05 });
    expect([none.kept, none.total]).toEqual([10, 10]);
    const zero = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0 });
    expect(zero.kept).toBe(10);
  });
});

describe('buildMask', () => {
  const zeros = (kind: string) => {
    const model = createModel(kind);
    return {
      model,
      weights: Object.fromEntries(
        model.params.map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]),
      ),
    };
  };

  it('counts of protocol §5.3 on the real model sizes (random scores)', async () => {
    const random = getPruner('random');
    const mlp = zeros('mlp');
    const r = await buildMask(random, { ...mlp, seed: 1 }, { pruningRate: 0.6 });
    expect([r.kept, r.total]).toEqual([46_000, 115_000]);
    const tr = await buildMask(random, { ...zeros('transformer'), seed: 1 }, { pruningRate: 0.6 });
    expect([tr.kept, tr.total]).toEqual([46_183, 115_456]); // k = floor(69 273.6)
    const r81 = await buildMask(random, { ...mlp, seed: 1 }, { pruningRate: 0.81 });
    expect(r81.kept).toBe(21_850);
    expect(r81.keepFraction).toBeCloseTo(0.19, 12);
    // random scores remove about the same fraction from every tensor
    for (const t of Object.values(r81.perTensor)) expect(Math.abs(t.kept / t.total - 0.19)).toBeLessThan(0.01);
    // local: the same rule in each tensor
    const local = await buildMask(random, { ...mlp, seed: 1 }, { pruningRate: 0.6, scope: 'local' });
    expect(local.perTensor).toEqual({
      W_E: { kept: 13_400, total: 33_500 },
      W_in: { kept: 9_600, total: 24_000 },
      W_out: { kept: 9_600, total: 24_000 },
      W_U: { kept: 13_400, total: 33_500 },
    });
  });

  it('global vs local on magnitude: global follows the layer scales, local keeps κ per tensor', async () => {
    const model = createModel('mlp', { vocab: 7, dEmb: 12, dModel: 8 });
    const weights = initialWeights(model, 0);
    weights.W_in = weights.W_in!.map((x) => 10 * x); // one layer with much larger weights
    const g = await buildMask(getPruner('magnitude'), { model, weights, seed: 0 }, { pruningRate: 0.5 });
    const l = await buildMask(
      getPruner('magnitude'),
      { model, weights, seed: 0 },
      { pruningRate: 0.5, scope: 'local' },
    );
    expect(g.kept).toBe(180);
    expect(g.perTensor.W_in!.kept).toBe(88); // the large layer keeps 92 %, each other layer under half
    for (const n of ['W_E', 'W_out', 'W_U']) expect(g.perTensor[n]!.kept / g.perTensor[n]!.total).toBeLessThan(0.5);
    for (const t of Object.values(l.perTensor)) expect(t.kept).toBe(t.total / 2);
  });

  it('schedules: κ_e per round as the reference computes it (linear 1 − (1 − κ)·e/E, exponential κ^(e/E))', () => {
    expect([1, 2, 3, 4].map((e) => scheduledKeepFraction(0.2, e, 4, 'linear'))).toEqual([
      0.8, 0.6, 0.3999999999999999, 0.19999999999999996,
    ]);
    expect([1, 2, 4].map((e) => scheduledKeepFraction(0.2, e, 4, 'exponential'))).toEqual([
      0.2 ** 0.25,
      0.2 ** 0.5,
      0.2,
    ]);
    expect(scheduledKeepFraction(0.4, 1, 1, 'one-shot')).toBe(0.4);
  });

  it.each([
    // N = 360, pruning rate 0.8 over 4 rounds; removed = floor((1 − κ_e)·N) in float64 (the
    // reference's rounding: round 1 of linear is floor(71.999…) = 71)
    ['linear', [71, 144, 216, 288]],
    ['exponential', [119, 199, 252, 288]],
  ] as const)(
    '%s schedule: the masked model is rescored each round and hits each round target',
    async (schedule, removed) => {
      const model = createModel('mlp', { vocab: 7, dEmb: 12, dModel: 8 });
      const weights = initialWeights(model, 0);
      const seen: Array<[number, number, number]> = [];
      // random scores are fresh each round (the round is part of the stream), so each round really re-ranks
      const spy: Pruner = definePruner({
        ...getPruner('random'),
        name: 'spy',
        score: (ctx) => {
          seen.push([ctx.round, ctx.rounds, Object.values(ctx.masks).reduce((s, m) => s + ones(m), 0)]);
          return getPruner('random').score(ctx);
        },
      });
      const r = await buildMask(spy, { model, weights, seed: 0 }, { pruningRate: 0.8, schedule, rounds: 4 });
      expect(seen).toEqual([
        [1, 4, 360],
        [2, 4, 360 - removed[0]],
        [3, 4, 360 - removed[1]],
        [4, 4, 360 - removed[2]],
      ]);
      expect(r.total - r.kept).toBe(removed[3]);
      expect(r.rounds).toBe(4);
    },
  );

  it('magnitude over rounds equals one shot (the raw weights do not change), protocol §5.4', async () => {
    const ctx = { ...fixtureContext(), masks: undefined };
    const many = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5, schedule: 'exponential', rounds: 3 });
    const once = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5 });
    expect(many.masks).toEqual(once.masks);
  });

  it('synflow over rounds keeps pruned weights pruned (their scores are 0)', async () => {
    const ctx = { ...fixtureContext(), masks: undefined };
    const one = await buildMask(getPruner('synflow'), ctx, { pruningRate: 0.3 });
    const two = await buildMask(getPruner('synflow'), { ...ctx, masks: one.masks }, { pruningRate: 0.6 });
    for (const [n, m] of Object.entries(one.masks)) m.forEach((v, i) => v === 0 && expect(two.masks[n]![i]).toBe(0));
  });

  it('invert keeps the smallest scores (negation)', async () => {
    const ctx = { model: tiny, weights: tinyWeights([5, -0.1, 3, -9, 0.5, 7, -2, 8, 4, -6]), seed: 0 };
    const inv = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.6, invert: true });
    // keep the 4 smallest |w|: 0.1, 0.5, 2, 3
    expect(flat(inv.masks)).toEqual([0, 1, 1, 0, 1, 0, 1, 0, 0, 0]);
  });

  it('shuffle: same per-tensor densities, different positions, deterministic per seed', async () => {
    const ctx = { ...fixtureContext(), masks: undefined };
    const plain = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5 });
    const a = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5, shuffle: true });
    const b = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5, shuffle: true });
    const c = await buildMask(getPruner('magnitude'), { ...ctx, seed: 1 }, { pruningRate: 0.5, shuffle: true });
    expect(a.perTensor).toEqual(plain.perTensor);
    expect(c.perTensor).toEqual(plain.perTensor);
    for (const n of Object.keys(plain.masks)) expect(ones(a.masks[n]!)).toBe(ones(plain.masks[n]!));
    expect(a.masks).toEqual(b.masks);
    expect(a.masks).not.toEqual(plain.masks);
    expect(c.masks).not.toEqual(a.masks);
  });

  it('a prunable subset (any order; scored in model order): only those tensors are masked and counted; given masks are used in round 1', async () => {
    const ctx = fixtureContext();
    const seen: string[][] = [];
    const spy = definePruner({
      ...getPruner('magnitude'),
      name: 'spy2',
      score: (c) => (seen.push(c.prunable), getPruner('magnitude').score(c)),
    });
    const r = await buildMask(spy, { ...ctx, masks: undefined }, { pruningRate: 0.5, prunable: ['W_U', 'W_in'] });
    expect(seen).toEqual([['W_in', 'W_U']]);
    expect(Object.keys(r.masks)).toEqual(['W_in', 'W_U']);
    expect(r.total).toBe(24 + 30);
    expect(r.kept).toBe(27);
    const masked: number[] = [];
    const spy3 = definePruner({
      ...getPruner('magnitude'),
      name: 'spy3',
      score: (c) => (masked.push(ones(c.masks.W_E!)), getPruner('magnitude').score(c)),
    });
    await buildMask(spy3, ctx, { pruningRate: 0.5 });
    expect(masked).toEqual([ones(ctx.masks.W_E!)]);
  });

  it.each([
    [{ pruningRate: 1 }, /pruning rate must be in \[0, 1\), got 1/],
    [{ pruningRate: 1.5 }, /pruning rate must be in \[0, 1\), got 1.5/],
    [{ pruningRate: -0.2 }, /pruning rate must be in \[0, 1\), got -0.2/],
    [{ pruningRate: Number.NaN }, /pruning rate must be in \[0, 1\), got NaN/],
    [{ pruningRate: '0.5' }, /pruning rate must be in \[0, 1\)/],
    [{ pruningRate: 0.5, rounds: 0 }, /rounds must be a positive integer/],
    [{ pruningRate: 0.5, rounds: 1.5, schedule: 'linear' }, /rounds must be a positive integer/],
    [{ pruningRate: 0.5, rounds: 3 }, /one-shot schedule has one round/],
    [{ pruningRate: 0.5, scope: 'layer' }, /scope must be global or local/],
    [{ pruningRate: 0.5, schedule: 'cosine' }, /schedule must be one-shot, linear or exponential/],
    [{ pruningRate: 0.5, prunable: ['W_X'] }, /"W_X" is not a prunable parameter/],
  ])('rejects %j with a PrunerError', async (options, message) => {
    const run = buildMask(getPruner('magnitude'), { ...fixtureContext(), masks: undefined }, options as never);
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toBeInstanceOf(PrunerError);
  });

  it('rejects weights or masks that do not fit the model', async () => {
    const ctx = { ...fixtureContext(), masks: undefined };
    await expect(
      buildMask(
        getPruner('magnitude'),
        { ...ctx, weights: { ...ctx.weights, W_in: new Float32Array(3) } },
        { pruningRate: 0.5 },
      ),
    ).rejects.toThrow(/buildMask: weights: "W_in" has 3 values, expected 24/);
    await expect(
      buildMask(
        getPruner('magnitude'),
        { ...ctx, masks: { W_U: new Float32Array(30).fill(0.5) } },
        { pruningRate: 0.5 },
      ),
    ).rejects.toThrow(PrunerError);
  });

  it('checks what a pruner returns and what it needs', async () => {
    const ctx = { ...fixtureContext(), masks: undefined };
    await expect(buildMask(getPruner('snip'), { ...ctx, batch: undefined }, { pruningRate: 0.5 })).rejects.toThrow(
      /pruner "snip" needs scoring data/,
    );
    const needs0 = definePruner({ ...getPruner('magnitude'), name: 'needs-theta0', needsInitialWeights: true });
    await expect(buildMask(needs0, ctx, { pruningRate: 0.5 })).rejects.toThrow(/needs the initial weights/);
    const short = definePruner({
      name: 'short',
      description: '',
      needsData: false,
      score: (c) => Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(2)])),
    });
    await expect(buildMask(short, ctx, { pruningRate: 0.5 })).rejects.toThrow(
      /returned 2 scores for "W_E", which has 30 weights/,
    );
    const nan = definePruner({
      name: 'nan',
      description: '',
      needsData: false,
      score: (c) =>
        Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(c.weights[n]!.length).fill(Number.NaN)])),
    });
    await expect(buildMask(nan, ctx, { pruningRate: 0.5 })).rejects.toThrow(/returned NaN/);
  });
});
