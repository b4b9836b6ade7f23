import { describe, expect, it } from 'vitest';
import { MetricsError, maskedNorms, sameNormScales, weightNorms } from '../src/index.js';
import { expectRel, f32, fixture } from './fixture.js';

const fx = fixture.norms;

describe('same-norm scales (protocol §6.2; the expectations of training/test/ticket.test.ts)', () => {
  const w = { A: Float32Array.from([3, -4, 0, 1]), B: Float32Array.from([2, 2]) };
  const m = { A: Float32Array.from([1, 0, 1, 1]), B: Float32Array.from([0, 1]) };
  it('masked norms by hand, global and per-tensor-sum', () => {
    // L1: |3|+|0|+|1| + |2| = 6; L2 global: sqrt(9+0+1+4) = sqrt(14); per-tensor sum: sqrt(10) + 2
    expect(maskedNorms(w, m, ['A', 'B'], 'global')).toEqual({ l1: 6, l2: Math.sqrt(14) });
    expect(maskedNorms(w, m, ['A', 'B'], 'perTensorSum').l2).toBeCloseTo(Math.sqrt(10) + 2, 12);
    expect(maskedNorms(w, null, ['A', 'B'], 'global')).toEqual({ l1: 12, l2: Math.sqrt(34) });
  });
  it('α1 = ‖θ0⊙m‖₁/‖θ0‖₁, α2 = ‖θ0⊙m‖₂/‖θ0‖₂', () => {
    const s = sameNormScales(w, m, ['A', 'B'], 'global');
    expect(s.alphaL1).toBeCloseTo(6 / 12, 12);
    expect(s.alphaL2).toBeCloseTo(Math.sqrt(14 / 34), 12);
    expect(sameNormScales(w, m, ['A', 'B'], 'perTensorSum').alphaL2).toBeCloseTo(
      (Math.sqrt(10) + 2) / (Math.sqrt(26) + Math.sqrt(8)),
      12,
    );
  });
  it('only the named tensors count; a tensor without a mask is unmasked', () => {
    expect(maskedNorms(w, m, ['B'], 'global')).toEqual({ l1: 2, l2: 2 });
    expect(maskedNorms(w, { A: m.A }, ['A', 'B'], 'global')).toEqual({ l1: 8, l2: Math.sqrt(18) });
    // the mask of every weight kept: α = 1
    expect(
      sameNormScales(w, { A: new Float32Array(4).fill(1), B: new Float32Array(2).fill(1) }, ['A', 'B'], 'global'),
    ).toEqual({ alphaL1: 1, alphaL2: 1 });
  });
  it('float64 inside: float32 inputs whose squares overflow float32 do not', () => {
    const big = { A: Float32Array.from([3e30, 4e30]) };
    expectRel(maskedNorms(big, null, ['A'], 'global').l2, Math.hypot(Math.fround(3e30), Math.fround(4e30)), 1e-15);
    expect(Number.isFinite(weightNorms(big).l2)).toBe(true);
  });
  it('against the numpy fixture (masked, unmasked, both definitions)', () => {
    const W = f32(fx.weights);
    const M = f32(fx.masks);
    expect(Object.keys(M)).not.toContain('W_out'); // the fixture leaves one tensor without a mask
    for (const def of ['global', 'perTensorSum'] as const) {
      const got = maskedNorms(W, M, fx.names, def);
      expectRel(got.l1, fx.maskedNorms[def].l1);
      expectRel(got.l2, fx.maskedNorms[def].l2);
      const s = sameNormScales(W, M, fx.names, def);
      expectRel(s.alphaL1, fx.sameNormScales[def].alphaL1);
      expectRel(s.alphaL2, fx.sameNormScales[def].alphaL2);
    }
    const dense = maskedNorms(W, null, fx.names, 'global');
    expectRel(dense.l1, fx.maskedNorms.unmaskedGlobal.l1);
    expectRel(dense.l2, fx.maskedNorms.unmaskedGlobal.l2);
  });
});

describe('weightNorms (protocol §7.3)', () => {
  it('by hand: global norms, the reference per-tensor means, per tensor', () => {
    const w = { A: Float32Array.from([3, -4]), B: Float64Array.from([1, 0, 2]) };
    const n = weightNorms(w, { A: Float32Array.from([1, 0]) });
    expect(n.l1).toBe(6);
    expect(n.l2).toBe(Math.sqrt(14));
    expect(n.l1PerTensorMean).toBe(3);
    expect(n.l2PerTensorMean).toBeCloseTo((3 + Math.sqrt(5)) / 2, 14);
    expect(n.perTensor).toEqual({ A: { l1: 3, l2: 3 }, B: { l1: 3, l2: Math.sqrt(5) } });
    // no masks: all of it; names: a subset, in any order
    expect(weightNorms(w).l1).toBe(10);
    expect(weightNorms(w, null, ['B'])).toEqual({
      l1: 3,
      l2: Math.sqrt(5),
      l1PerTensorMean: 3,
      l2PerTensorMean: Math.sqrt(5),
      perTensor: { B: { l1: 3, l2: Math.sqrt(5) } },
    });
  });
  it('the reference l2norm of θ0 at init ≈ 14.96 for the MLP (protocol §3.5, §10.4) via the per-tensor mean', () => {
    // per-tensor Frobenius norms at init ≈ √500, √48, √500, √67: mean (22.36 + 6.93 + 22.36 + 8.19) / 4 ≈ 14.96
    const sizes: Record<string, [number, number]> = {
      W_E: [33500, 67],
      W_in: [24000, 500],
      W_out: [24000, 48],
      W_U: [33500, 500],
    };
    let s = 12345;
    const u = () => ((s = (s * 48271) % 2147483647), s / 2147483647);
    const w = Object.fromEntries(
      Object.entries(sizes).map(([k, [n, fan]]) => [
        k,
        Float32Array.from(
          { length: n },
          () => (Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())) / Math.sqrt(fan),
        ),
      ]),
    );
    expect(weightNorms(w).l2PerTensorMean).toBeGreaterThan(14.96 * 0.99);
    expect(weightNorms(w).l2PerTensorMean).toBeLessThan(14.96 * 1.01);
  });
  it('against the numpy fixture', () => {
    const W = f32(fx.weights);
    const M = f32(fx.masks);
    const cases = {
      masked: weightNorms(W, M),
      unmasked: weightNorms(W),
      maskedSubset: weightNorms(W, M, fx.subset),
    } as const;
    for (const [name, got] of Object.entries(cases)) {
      const want = fx.weightNorms[name as keyof typeof cases];
      for (const key of ['l1', 'l2', 'l1PerTensorMean', 'l2PerTensorMean'] as const) expectRel(got[key], want[key]);
      expect(Object.keys(got.perTensor).sort()).toEqual(Object.keys(want.perTensor).sort());
      for (const [t, v] of Object.entries(want.perTensor)) {
        expectRel(got.perTensor[t]!.l1, v.l1);
        expectRel(got.perTensor[t]!.l2, v.l2);
      }
    }
    // maskedNorms is the same arithmetic
    expect(maskedNorms(W, M, fx.names, 'global')).toEqual({ l1: cases.masked.l1, l2: cases.masked.l2 });
  });
  it('errors: unknown tensor, mask of the wrong size', () => {
    const w = { A: Float32Array.from([1, 2]) };
    expect(() => weightNorms(w, null, ['B'])).toThrow(MetricsError);
    expect(() => weightNorms(w, null, ['B'])).toThrow('no weights named "B"');
    expect(() => maskedNorms(w, { A: Float32Array.from([1]) }, ['A'], 'global')).toThrow(
      'mask "A" has 1 entries but its weights have 2',
    );
  });
  it('no tensors: zero norms, NaN means', () => {
    const n = weightNorms({});
    expect([n.l1, n.l2]).toEqual([0, 0]);
    expect(n.l1PerTensorMean).toBeNaN();
  });
});
