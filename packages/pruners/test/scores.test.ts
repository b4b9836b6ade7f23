import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights, type Batch } from '@grokking-tickets/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { graspHessianGradient, snipSaliency } from '../src/builtins.js';
import { PrunerError, getPruner, thresholdScores, type ScoringContext, type Scores } from '../src/index.js';
import { PRUNABLE, fixture, fixtureContext, scaledError } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// Agreement with the float64 numpy fixture (make_pruner_fixtures.py), measured as the largest
// absolute difference over all entries divided by the largest |score| (entries near zero by
// cancellation make per-entry relative errors meaningless). tfjs computes in float32 (unit
// roundoff 6e-8); the fixture starts from the same float32 weights. Measured on wasm and cpu:
// magnitude 0 (|x| is exact), SNIP ≤ 1.4e-7, SynFlow ≤ 6e-8, GraSP Hg ≤ 1.4e-7 (per entry above 1 % of
// the scale: 2e-6 at most). Tolerances: first-order scores 1e-5 (a few dozen float32 roundings in
// each gradient entry, with ~100x margin for other backends' summation orders); GraSP 1e-4, since
// Hg is a double backward through a temperature-200 softmax whose (p − y) terms partly cancel, so
// float32 errors can grow by the conditioning of that second pass (still ~700x the measured error;
// the stock tfjs gradients are off by 30-40 %, tfjs-notes.md, so this still catches that bug).
const TOLERANCE = { magnitude: 0, snipRaw: 1e-5, snip: 1e-5, synflow: 1e-5, graspHg: 1e-4, grasp: 1e-4 } as const;

describe('scores match the float64 fixture (make_pruner_fixtures.py)', () => {
  it('the fixture checked itself by finite differences', () => {
    expect(fixture.checks.snipFiniteDifferenceRelErr).toBeLessThan(1e-7);
    expect(fixture.checks.graspHgFiniteDifferenceRelErr).toBeLessThan(1e-6);
    expect(fixture.checks.synflowFiniteDifferenceRelErr).toBeLessThan(1e-7);
    // the masks exercise the M factors of every definition
    for (const name of PRUNABLE) expect(fixture.masks[name]).toContain(0);
  });

  it.each(['magnitude', 'snip', 'grasp', 'synflow'] as const)(
    '%s: every weight, and the same mask at pruning rate 0.5',
    async (name) => {
      const ctx = fixtureContext();
      const got = await getPruner(name).score(ctx);
      expect(scaledError(got, fixture.scores[name])).toBeLessThanOrEqual(TOLERANCE[name]);
      const want: Scores = Object.fromEntries(PRUNABLE.map((n) => [n, Float64Array.from(fixture.scores[name][n]!)]));
      expect(thresholdScores(got, 0.5, 'global')).toEqual(thresholdScores(want, 0.5, 'global'));
    },
  );

  it('SNIP before normalisation: |W ⊙ ∂L/∂(W⊙M)|', () => {
    expect(scaledError(snipSaliency(fixtureContext()), fixture.scores.snipRaw)).toBeLessThanOrEqual(TOLERANCE.snipRaw);
  });

  it('GraSP Hessian-gradient product Hg = ∂/∂W [g · ∂L_T/∂W] (pruned entries exactly 0)', () => {
    const ctx = fixtureContext();
    const hg = graspHessianGradient(ctx);
    expect(scaledError(hg, fixture.scores.graspHg)).toBeLessThanOrEqual(TOLERANCE.graspHg);
    for (const name of PRUNABLE) ctx.masks[name]!.forEach((m, i) => m === 0 && expect(Math.abs(hg[name]![i]!)).toBe(0));
  });

  it('normalisations: SNIP sums to 1, GraSP to ±1; SynFlow scores of pruned weights are 0', async () => {
    const ctx = fixtureContext();
    const total = (s: Scores) => Object.values(s).reduce((t, a) => t + Array.from(a).reduce((x, y) => x + y, 0), 0);
    expect(total(await getPruner('snip').score(ctx))).toBeCloseTo(1, 12);
    // |Σ W⊙Hg| is only ~3e-6 here (Hg scales as 1/T²), so the ε = 1e-10 of the normalisation shows:
    // Σ = |Σ S| / (|Σ S| + ε) ≈ 0.99996, as in the float64 fixture
    const want = Object.values(fixture.scores.grasp)
      .flat()
      .reduce((x, y) => x + y, 0);
    expect(Math.abs(total(await getPruner('grasp').score(ctx)) - want)).toBeLessThan(1e-6);
    const syn = await getPruner('synflow').score(ctx);
    for (const name of PRUNABLE)
      ctx.masks[name]!.forEach((m, i) => m === 0 && expect(Math.abs(syn[name]![i]!)).toBe(0));
  });
});

describe('random and magnitude', () => {
  it('random: standard normal, deterministic for a seed, independent of the weights', async () => {
    const ctx = fixtureContext();
    const a = await getPruner('random').score(ctx);
    const b = await getPruner('random').score({
      ...ctx,
      weights: Object.fromEntries(Object.entries(ctx.weights).map(([k, w]) => [k, w.map((x) => 2 * x)])),
    });
    const c = await getPruner('random').score({ ...ctx, seed: 1 });
    expect(b).toEqual(a);
    expect(c.W_E).not.toEqual(a.W_E);
    const model = createModel('mlp');
    const all = Object.values(
      await getPruner('random').score({ ...ctx, model, weights: initialWeights(model, 0), prunable: PRUNABLE }),
    ).flatMap((s) => Array.from(s));
    const mean = all.reduce((s, x) => s + x, 0) / all.length;
    const sd = Math.sqrt(all.reduce((s, x) => s + (x - mean) ** 2, 0) / all.length);
    expect(all).toHaveLength(115_000);
    expect(Math.abs(mean)).toBeLessThan(0.01); // 3.4 standard errors of 1/√115000
    expect(Math.abs(sd - 1)).toBeLessThan(0.01);
  });

  it('magnitude: |W| of the raw weights, masks ignored', async () => {
    const ctx = fixtureContext();
    const s = await getPruner('magnitude').score(ctx);
    expect(Array.from(s.W_in!)).toEqual(Array.from(ctx.weights.W_in!, Math.abs));
  });
});

describe('data-dependent pruners', () => {
  it.each(['snip', 'grasp', 'synflow'])('%s throws PrunerError without ctx.batch', async (name) => {
    const pruner = getPruner(name);
    expect(pruner.needsData).toBe(true);
    const { batch: _unused, ...rest } = fixtureContext();
    expect(() => pruner.score(rest as ScoringContext)).toThrow(PrunerError);
    expect(() => pruner.score(rest as ScoringContext)).toThrow(/needs scoring data/);
  });

  it.each(['snip', 'grasp', 'synflow'])(
    '%s scores the Transformer (last-position logits) and the MNIST MLP (MSE)',
    async (name) => {
      const pruner = getPruner(name);
      const tr = createModel('transformer', { vocab: 5, dModel: 8, dHead: 8, dMlp: 8 });
      const pairs: Batch = {
        kind: 'pairs',
        a: Int32Array.of(0, 1, 2, 3),
        b: Int32Array.of(4, 3, 2, 1),
        labels: Int32Array.of(4, 4, 4, 4),
      };
      const mn = createModel('mnist-mlp', { inputDim: 6, width: 5, classes: 3 });
      const images: Batch = {
        kind: 'images',
        images: Float32Array.from({ length: 24 }, (_, i) => (i % 7) / 7),
        dim: 6,
        labels: Int32Array.of(0, 1, 2, 1),
      };
      for (const [model, batch] of [
        [tr, pairs],
        [mn, images],
      ] as const) {
        const prunable = model.params.map((p) => p.name);
        const weights = initialWeights(model, 3);
        const masks = Object.fromEntries(prunable.map((n) => [n, new Float32Array(weights[n]!.length).fill(1)]));
        const s = await pruner.score({ model, weights, masks, prunable, batch, seed: 0, round: 1, rounds: 1 });
        for (const n of prunable) {
          expect(s[n]).toHaveLength(weights[n]!.length);
          expect(Array.from(s[n]!).every(Number.isFinite)).toBe(true);
          expect(Array.from(s[n]!).some((x) => x !== 0)).toBe(true);
        }
      }
    },
  );
});
