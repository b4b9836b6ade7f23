import { describe, expect, it } from 'vitest';
import { MetricsError, maskOverlap, maskStats } from '../src/index.js';
import { f32, fixture } from './fixture.js';

const fx = fixture.masks;

describe('maskStats', () => {
  it('by hand: non-zero entries are kept', () => {
    const s = maskStats({ W_E: Float32Array.from([1, 0, 1, 1]), W_U: Float64Array.from([0, 0]) });
    expect(s).toEqual({
      kept: 3,
      total: 6,
      keptFraction: 0.5,
      perTensor: { W_E: { kept: 3, total: 4, keptFraction: 0.75 }, W_U: { kept: 0, total: 2, keptFraction: 0 } },
    });
    // any non-zero value counts (a mask may hold scores or −0)
    expect(maskStats({ m: Float32Array.from([0.5, -2, -0, Number.NaN]) }).kept).toBe(3);
  });
  it('against the numpy fixture', () => {
    expect(maskStats(f32(fx.a))).toEqual(fx.statsA);
    expect(maskStats(f32(fx.b))).toEqual(fx.statsB);
  });
  it('no tensors or an empty tensor: NaN fractions', () => {
    expect(maskStats({}).keptFraction).toBeNaN();
    expect(maskStats({ e: new Float32Array(0) }).perTensor.e!.keptFraction).toBeNaN();
  });
});

describe('maskOverlap', () => {
  it('by hand: Jaccard |a ∧ b| / |a ∨ b| per tensor and over all shared tensors', () => {
    const o = maskOverlap(
      { W: Float32Array.from([1, 1, 0, 0]), V: Float32Array.from([1, 1]) },
      { W: Float32Array.from([1, 0, 1, 0]), V: Float32Array.from([1, 1]) },
    );
    expect(o.perTensor).toEqual({
      W: { intersection: 1, union: 3, jaccard: 1 / 3 },
      V: { intersection: 2, union: 2, jaccard: 1 },
    });
    expect(o.jaccard).toBe(3 / 5);
    expect([o.intersection, o.union]).toEqual([3, 5]);
  });
  it('against the numpy fixture (tensors held by one set ignored; an all-zero tensor in both has J = 1)', () => {
    const o = maskOverlap(f32(fx.a), f32(fx.b));
    expect(o.jaccard).toBe(fx.overlap.jaccard);
    expect([o.intersection, o.union]).toEqual([fx.overlap.intersection, fx.overlap.union]);
    expect(o.perTensor).toEqual(fx.overlap.perTensor);
    expect(o.perTensor.Z).toEqual({ intersection: 0, union: 0, jaccard: 1 });
    expect(Object.keys(o.perTensor).sort()).toEqual(['W_E', 'W_in', 'Z']);
  });
  it('symmetric; identical masks → 1; disjoint → 0; both empty → 1', () => {
    const a = f32(fx.a);
    const b = f32(fx.b);
    expect(maskOverlap(b, a).jaccard).toBe(maskOverlap(a, b).jaccard);
    expect(maskOverlap(a, a).jaccard).toBe(1);
    expect(maskOverlap({ x: Float32Array.from([1, 0]) }, { x: Float32Array.from([0, 1]) }).jaccard).toBe(0);
    expect(maskOverlap({ x: new Float32Array(3) }, { x: new Float32Array(3) }).jaccard).toBe(1);
  });
  it('errors: size mismatch, nothing shared', () => {
    expect(() => maskOverlap({ x: new Float32Array(3) }, { x: new Float32Array(4) })).toThrow(
      'mask "x" has 3 entries in the first set and 4 in the second',
    );
    expect(() => maskOverlap({ x: new Float32Array(3) }, { y: new Float32Array(3) })).toThrow(MetricsError);
    expect(() => maskOverlap({}, {})).toThrow('the two mask sets share no tensor name');
  });
});
