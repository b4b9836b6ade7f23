import { describe, expect, it } from 'vitest';
import {
  MetricsError,
  magnitudeMask,
  maskDistance,
  randomMaskDistance,
  structuralChange,
  structuralDynamics,
  structureRow,
  weightSparsity,
} from '../src/index.js';
import { gaussian } from './fixture.js';

const f = (...v: number[]) => Float32Array.from(v);
const list = (m: Record<string, Float32Array>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v]]));

describe('magnitudeMask', () => {
  it('by hand: global threshold over all tensors, k = ⌊(1 − κ)N⌋ pruned, kept iff |w| > τ', () => {
    // |w| = 0.1 3 2 0.5 | 1 0; k = 3 of 6, τ = the 3rd smallest = 0.5
    const m = magnitudeMask({ W: f(0.1, -3, 2, 0.5), V: f(-1, 0) }, 0.5);
    expect(list(m)).toEqual({ W: [0, 1, 1, 0], V: [1, 0] });
    expect(m.W).toBeInstanceOf(Float32Array);
  });
  it('ties at τ are all pruned, as the pruners do', () => {
    expect(list(magnitudeMask({ W: f(1, -1, 1, 2) }, 0.5))).toEqual({ W: [0, 0, 0, 1] });
  });
  it('k rounds as the pruners do: rate 0.1 of 30 weights prunes ⌊(1 − 0.9)·30⌋ = 2, not 3', () => {
    const w = Float32Array.from({ length: 30 }, (_, i) => i + 1);
    const m = magnitudeMask({ W: w }, 0.1);
    expect([...m.W!].filter((x) => x === 0).length).toBe(2);
    expect([...m.W!.subarray(0, 3)]).toEqual([0, 0, 1]);
  });
  it('rate 0 (and any k < 1) keeps everything; names choose the tensors', () => {
    expect(list(magnitudeMask({ W: f(0, 0, 1) }, 0))).toEqual({ W: [1, 1, 1] });
    expect(list(magnitudeMask({ W: f(1, 2, 3) }, 0.3))).toEqual({ W: [1, 1, 1] }); // ⌊0.3·3⌋ = 0
    // only V is pruned, over V alone: τ = 2
    expect(list(magnitudeMask({ W: f(0, 0), V: f(3, 2, 1, 4) }, 0.5, ['V']))).toEqual({ V: [1, 0, 0, 1] });
  });
  it('errors: a rate outside [0, 1), a non-finite weight, an unknown or empty name list', () => {
    for (const r of [1, -0.1, Number.NaN]) expect(() => magnitudeMask({ W: f(1) }, r)).toThrow(MetricsError);
    expect(() => magnitudeMask({ W: f(1, Number.NaN) }, 0.5)).toThrow('weight "W"[1] is not finite (NaN)');
    expect(() => magnitudeMask({ W: f(1) }, 0.5, ['X'])).toThrow('no weights named "X"');
    expect(() => magnitudeMask({}, 0.5)).toThrow('no tensors to prune');
  });
});

describe('maskDistance and randomMaskDistance', () => {
  it('by hand: 1 − |a ∧ b| / |a ∨ b| per tensor and over the whole network', () => {
    const d = maskDistance({ W: f(1, 1, 0, 0), V: f(1, 1) }, { W: f(1, 0, 1, 0), V: f(1, 1) });
    expect(d.perTensor.W).toBeCloseTo(2 / 3, 15); // ∧ = 1, ∨ = 3
    expect(d.perTensor.V).toBe(0);
    expect(d.distance).toBeCloseTo(2 / 5, 15); // ∧ = 3, ∨ = 5
  });
  it('0 for identical masks and for two empty ones, 1 for disjoint ones', () => {
    expect(maskDistance({ W: f(1, 0, 1) }, { W: f(1, 0, 1) }).distance).toBe(0);
    expect(maskDistance({ W: f(0, 0) }, { W: f(0, 0) }).distance).toBe(0);
    expect(maskDistance({ W: f(1, 0) }, { W: f(0, 1) }).distance).toBe(1);
    expect(() => maskDistance({ W: f(1) }, { W: f(1, 0) })).toThrow(MetricsError);
  });
  it('the random reference 1 − κ/(2 − κ): 0.75 at κ = 0.4, and what random masks give', () => {
    expect(randomMaskDistance(0.4)).toBeCloseTo(0.75, 15);
    expect(randomMaskDistance(0.6)).toBeCloseTo(1 - 0.6 / 1.4, 15);
    expect(randomMaskDistance(1)).toBe(0);
    expect(() => randomMaskDistance(0)).toThrow(MetricsError);
    // two independent magnitude masks of Gaussian weights are independent uniform random masks
    const g1 = gaussian(1);
    const g2 = gaussian(2);
    const n = 200_000;
    const a = magnitudeMask({ W: Float32Array.from({ length: n }, g1) }, 0.6);
    const b = magnitudeMask({ W: Float32Array.from({ length: n }, g2) }, 0.6);
    expect(Math.abs(maskDistance(a, b).distance - 0.75)).toBeLessThan(0.005);
  });
});

describe('weightSparsity', () => {
  it('by hand: ε = k·max|w| over all tensors, sparsity = #{|w| < ε} / N', () => {
    const s = weightSparsity({ W: f(1, -0.5, 0.1, 0), V: f(0.3, -0.19) });
    expect(s.maxAbs).toBe(1);
    expect(s.threshold).toBeCloseTo(0.2, 15);
    expect(s.relativeThreshold).toBe(0.2);
    expect([s.below, s.total]).toEqual([3, 6]); // 0.1, 0, −0.19
    expect(s.sparsity).toBe(0.5);
    expect(s.perTensor).toEqual({ W: 0.5, V: 0.5 });
  });
  it('k = 0.1 (the configs), strict inequality, one global maximum', () => {
    // max 4 in V, ε = 0.4: W's 0.3 and 0.39 are below, 0.4 itself is not
    const s = weightSparsity({ W: f(0.3, 0.39, 0.4), V: f(-4, 1) }, { relativeThreshold: 0.1 });
    expect(s.perTensor).toEqual({ W: 2 / 3, V: 0 });
    expect(s.sparsity).toBe(2 / 5);
  });
  it('masks: W ⊙ M, a pruned weight counts as 0 and the maximum is over the kept weights', () => {
    const s = weightSparsity({ W: f(10, 1, 0.1) }, { masks: { W: f(0, 1, 1) } });
    expect(s.maxAbs).toBe(1);
    expect(s.sparsity).toBe(2 / 3); // 0 (pruned 10) and 0.1 are below 0.2
  });
  it('all zero: ε = 0 and nothing is below it; errors name the problem', () => {
    expect(weightSparsity({ W: f(0, 0) }).sparsity).toBe(0);
    expect(() => weightSparsity({ W: f(1) }, { relativeThreshold: 2 })).toThrow(MetricsError);
    expect(() => weightSparsity({ W: f(1, Number.POSITIVE_INFINITY) })).toThrow('weight "W"[1] is not finite');
    expect(() => weightSparsity({ W: f(1) }, { masks: { W: f(1, 1) } })).toThrow('mask "W" has 2 entries');
  });
  it('Gaussian weights: sparsity = P(|z| < ε) = erf(ε/√2) up to sampling error', () => {
    // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), independent of the code under test
    const erf = (x: number) => {
      const t = 1 / (1 + 0.3275911 * x);
      const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      return 1 - poly * Math.exp(-x * x);
    };
    const g = gaussian(7);
    const w = Float32Array.from({ length: 100_000 }, g);
    const s = weightSparsity({ w });
    // sampling standard error sqrt(p(1 − p)/n) ≈ 0.0015
    expect(Math.abs(s.sparsity - erf(s.threshold / Math.SQRT2))).toBeLessThan(0.006);
    expect(s.threshold).toBeCloseTo(0.2 * s.maxAbs, 12);
  });
});

describe('structuralDynamics', () => {
  // One tensor of 4 weights, rate 0.5 (2 kept). Tickets: c0 {0,1}, c1 {0,2}, c2 {2,3} (final).
  const checkpoints = [
    { step: 0, weights: { W: f(4, 3, 0.5, 0.1) } },
    { step: 100, weights: { W: f(4, 1, 3, 2) } },
    { step: 300, weights: { W: f(1, 2, 3, 4) } },
  ];
  it('by hand: distances to the final ticket and between consecutive tickets, and the sparsity', () => {
    const rows = structuralDynamics(checkpoints, { pruningRate: 0.5 });
    expect(rows.map((r) => r.step)).toEqual([0, 100, 300]);
    expect(rows.map((r) => r.keptFraction)).toEqual([0.5, 0.5, 0.5]);
    expect(rows[0]!.distanceToFinal).toBe(1); // {0,1} vs {2,3}: disjoint
    expect(rows[1]!.distanceToFinal).toBeCloseTo(2 / 3, 15); // {0,2} vs {2,3}: 1 of 3
    expect(rows[2]!.distanceToFinal).toBe(0);
    expect(rows[0]!.distanceFromPrevious).toBeNull();
    expect(rows[0]!.previousStep).toBeNull();
    expect(rows[1]!.distanceFromPrevious).toBeCloseTo(2 / 3, 15); // {0,1} vs {0,2}
    expect(rows[2]!.distanceFromPrevious).toBeCloseTo(2 / 3, 15); // {0,2} vs {2,3}
    expect(rows[2]!.previousStep).toBe(100);
    expect(rows[1]!.distanceFromPreviousPerTensor!.W).toBeCloseTo(2 / 3, 15);
    // c0: ε = 0.8, 0.5 and 0.1 below; c1: ε = 0.8, none; c2: ε = 0.8, none
    expect(rows.map((r) => r.sparsity)).toEqual([0.5, 0, 0]);
    expect(rows[0]!.sparsityThreshold).toBeCloseTo(0.8, 6);
    expect(rows[0]!.maxAbsWeight).toBe(4);
  });
  it('a given final ticket, the row function alone, and the order check', () => {
    const final = { W: f(1, 1, 0, 0) };
    const rows = structuralDynamics(checkpoints, { pruningRate: 0.5, final });
    expect(rows.map((r) => r.distanceToFinal)).toEqual([0, rows[1]!.distanceToFinal, 1]);
    const row = structureRow({
      step: 5,
      weights: { W: f(1, 2) },
      mask: { W: f(0, 1) },
      previous: { step: 1, mask: { W: f(1, 0) } },
      final: { W: f(0, 1) },
      sparsity: { relativeThreshold: 0.6 },
    });
    expect([row.distanceToFinal, row.distanceFromPrevious, row.previousStep, row.sparsity]).toEqual([0, 1, 1, 0.5]);
    expect(() => structuralDynamics([checkpoints[1]!, checkpoints[0]!], { pruningRate: 0.5 })).toThrow(
      'increasing step order',
    );
    expect(structuralDynamics([], { pruningRate: 0.5 })).toEqual([]);
  });
});

describe('structuralChange', () => {
  const rows = [
    { step: 0, previousStep: null, distanceFromPrevious: null },
    { step: 1000, previousStep: 0, distanceFromPrevious: 0.5 },
    { step: 2000, previousStep: 1000, distanceFromPrevious: 0.1 },
    { step: 3000, previousStep: 2000, distanceFromPrevious: 0.3 },
    { step: 4000, previousStep: 3000, distanceFromPrevious: 0.05 },
  ];
  const metrics = [
    { step: 0, train_acc: 0.01, test_acc: 0 },
    { step: 500, train_acc: 1, test_acc: 0.01 },
    { step: 1000, train_acc: 1, test_acc: 0.02 },
    { step: 2000, train_acc: 1, test_acc: 0.1 },
    { step: 2500, train_acc: 1, test_acc: 0.55 },
    { step: 3000, train_acc: 1, test_acc: 0.6 },
    { step: 3500, train_acc: 1, test_acc: 0.96 },
    { step: 4000, train_acc: 1, test_acc: 1 },
  ];
  it('by hand: the largest change after memorisation against the 50 % and 95 % steps', () => {
    const c = structuralChange(rows, metrics);
    expect([c.after, c.afterRule, c.memorized, c.testAcc50, c.testAcc95]).toEqual([
      500,
      'memorization',
      500,
      2500,
      3500,
    ]);
    // 0 → 1000 starts before memorisation and does not count, though its change (0.5) is the largest
    expect(c.intervals.map((i) => [i.from, i.to])).toEqual([
      [1000, 2000],
      [2000, 3000],
      [3000, 4000],
    ]);
    expect(c.largestChange).toMatchObject({ from: 2000, to: 3000, distance: 0.3 });
    expect(c.largestChange!.ratePer1k).toBeCloseTo(0.3, 15);
    expect(c.largestChange!.testAccGain).toBeCloseTo(0.5, 15);
    expect([c.lag50, c.lag95, c.contains50, c.contains95]).toEqual([0, -1000, true, false]);
    // rates 0.1 0.3 0.05 against gains 0.08 0.5 0.4 per 1000 steps (numpy.corrcoef)
    expect(c.correlation).toBeCloseTo(0.5340595734722972, 12);
  });
  it('after a given step, or over all intervals when the run never memorises', () => {
    const all = structuralChange(rows, metrics, { after: 0 });
    expect([all.afterRule, all.largestChange!.from, all.largestChange!.to]).toEqual(['given', 0, 1000]);
    const never = structuralChange(
      rows,
      metrics.map((m) => ({ ...m, train_acc: 0.5 })),
    );
    expect([never.afterRule, never.after, never.memorized, never.largestChange!.to]).toEqual(['all', 0, null, 1000]);
  });
  it('uneven spacing: the rate per 1000 steps decides, not the raw distance', () => {
    const c = structuralChange(
      [
        { step: 0, previousStep: null, distanceFromPrevious: null },
        { step: 100, previousStep: 0, distanceFromPrevious: 0.1 },
        { step: 1100, previousStep: 100, distanceFromPrevious: 0.4 },
      ],
      [],
    );
    expect(c.largestChange).toMatchObject({ from: 0, to: 100 });
    expect(c.largestChange!.ratePer1k).toBeCloseTo(1, 15);
    expect([c.testAcc50, c.lag50, c.correlation, c.contains50]).toEqual([null, null, null, false]);
  });
  it('no intervals: no largest change', () => {
    const c = structuralChange([rows[0]!], metrics);
    expect(c.largestChange).toBeNull();
    expect(c.intervals).toEqual([]);
    expect(() => structuralChange(rows, metrics, { after: Number.NaN })).toThrow(MetricsError);
  });
});
