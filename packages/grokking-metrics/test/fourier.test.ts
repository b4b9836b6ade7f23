import { describe, expect, it } from 'vitest';
import {
  MetricsError,
  fourierSpectrum,
  frequencyEntropy,
  gini,
  keyFrequencies,
  mlpEffectiveWeights,
  spectrumGini,
} from '../src/index.js';
import { expectArrayRel, expectRel, f32, fixture, gaussian } from './fixture.js';

const LN32 = Math.log(32);
const ONE_FREQUENCY = Math.log(31 + Math.E) - 1; // ≈ 2.5180
const wave = (p: number, f: number, phase = 0, amp = 1) =>
  Array.from({ length: p }, (_, x) => amp * Math.cos((2 * Math.PI * f * x) / p + phase));
const randomMatrix = (rows: number, p: number, seed: number) => {
  const g = gaussian(seed);
  return Float64Array.from({ length: rows * p }, g);
};

describe('mlpEffectiveWeights (protocol §7.4 step 1)', () => {
  const fx = fixture.effective;
  it('A = (W_in⊙M_in)(W_E⊙M_E), B = (W_out⊙M_out)ᵀ(W_U⊙M_U) against numpy, masked and unmasked', () => {
    const W = f32(fx.weights);
    const got = mlpEffectiveWeights(W, f32(fx.masks), fx.dims);
    expect([got.rows, got.cols]).toEqual([fx.dims.dModel, fx.dims.vocab]);
    expectArrayRel(got.A, fx.masked.A, 1e-13);
    expectArrayRel(got.B, fx.masked.B, 1e-13);
    const dense = mlpEffectiveWeights(W, null, fx.dims);
    expectArrayRel(dense.A, fx.unmasked.A, 1e-13);
    expectArrayRel(dense.B, fx.unmasked.B, 1e-13);
    // the masks matter (not the same numbers)
    expect(Math.abs(got.A[0]! - dense.A[0]!) + Math.abs(got.B[0]! - dense.B[0]!)).toBeGreaterThan(1e-3);
  });
  it('layout by hand: vocab 2, dEmb 3, dModel 1', () => {
    // W_E [3, 2], W_in [1, 3], W_out [3, 1], W_U [3, 2]
    const W = {
      W_E: Float32Array.from([1, 2, 3, 4, 5, 6]),
      W_in: Float32Array.from([1, 10, 100]),
      W_out: Float32Array.from([1, 0, -1]),
      W_U: Float32Array.from([7, 8, 9, 10, 11, 12]),
    };
    const r = mlpEffectiveWeights(W, { W_in: Float32Array.from([1, 1, 0]) }, { vocab: 2, dEmb: 3, dModel: 1 });
    expect(Array.from(r.A)).toEqual([1 + 30, 2 + 40]); // W_in masked to [1, 10, 0]
    expect(Array.from(r.B)).toEqual([7 - 11, 8 - 12]);
  });
  it('errors: missing tensor, wrong size, mask of the wrong size', () => {
    const W = f32(fixture.effective.weights);
    const { W_U: _u, ...noU } = W;
    expect(() => mlpEffectiveWeights(noU, null, fx.dims)).toThrow('no weights named "W_U"');
    expect(() => mlpEffectiveWeights(W, null, { ...fx.dims, dEmb: 8 })).toThrow(MetricsError);
    expect(() => mlpEffectiveWeights(W, { W_E: new Float32Array(3) }, fx.dims)).toThrow('mask "W_E" has 3 entries');
  });
});

describe('fourierSpectrum (protocol §7.4)', () => {
  it.each(fixture.spectrum.map((c) => [c.p, c] as const))('p = %i against numpy.fft', (_p, c) => {
    const s = fourierSpectrum(c.matrix, c.rows, c.p);
    expect(s.frequencies).toEqual(Array.from({ length: Math.floor(c.p / 2) + 1 }, (_, f) => f));
    expectArrayRel(s.perRow, c.perRow);
    expectArrayRel(s.summed, c.summed);
    expectArrayRel(s.summedPower, c.summedPower);
  });
  it('Parseval: Σ_f n_f² = ‖y‖² per row (odd and even p)', () => {
    for (const p of [2, 3, 12, 67, 113]) {
      const m = randomMatrix(5, p, p);
      const s = fourierSpectrum(m, 5, p);
      const w = Math.floor(p / 2) + 1;
      for (let r = 0; r < 5; r++) {
        let power = 0;
        let norm = 0;
        for (let f = 0; f < w; f++) power += s.perRow[r * w + f]! ** 2;
        for (let x = 0; x < p; x++) norm += m[r * p + x]! ** 2;
        expectRel(power, norm, 1e-13);
      }
      let total = 0;
      for (const v of s.summedPower) total += v;
      expectRel(
        total,
        m.reduce((t, x) => t + x * x, 0),
        1e-13,
      );
    }
  });
  it('known rows: a cosine, a constant, the Nyquist alternation', () => {
    // a·cos(2πfx/p + φ) has ‖y‖² = a²p/2, all at f
    const s = fourierSpectrum(wave(67, 9, 0.4, 3), 1, 67);
    expectRel(s.perRow[9]!, 3 * Math.sqrt(67 / 2), 1e-13);
    for (let f = 0; f <= 33; f++) if (f !== 9) expect(s.perRow[f]!).toBeLessThan(1e-12);
    const c = fourierSpectrum(new Array(12).fill(2), 1, 12);
    expectRel(c.perRow[0]!, 2 * Math.sqrt(12), 1e-14);
    const alt = fourierSpectrum(
      Array.from({ length: 12 }, (_, x) => (x % 2 ? -1 : 1)),
      1,
      12,
    );
    expectRel(alt.perRow[6]!, Math.sqrt(12), 1e-14); // n_{p/2} = |Y_{p/2}|/√p = 12/√12
    expect(alt.perRow[0]!).toBeLessThan(1e-14);
  });
  it('linear in the scale; Float32Array, Float64Array and number[] agree', () => {
    const m = Float32Array.from(randomMatrix(3, 11, 5));
    const a = fourierSpectrum(m, 3, 11);
    expectArrayRel(
      fourierSpectrum(
        Array.from(m, (x) => 4 * x),
        3,
        11,
      ).perRow,
      a.perRow.map((v) => 4 * v),
      1e-14,
    );
    expect(fourierSpectrum(Float64Array.from(m), 3, 11)).toEqual(a);
    expect(fourierSpectrum(Array.from(m), 3, 11)).toEqual(a);
  });
  it('errors: bad shape, p < 2', () => {
    expect(() => fourierSpectrum([1, 2, 3], 2, 2)).toThrow('matrix has 3 entries, expected rows × p = 2 × 2 = 4');
    expect(() => fourierSpectrum([1], 1, 1)).toThrow(MetricsError);
    expect(() => fourierSpectrum([1, 2], 1, 2.5)).toThrow('p must be an integer >= 2');
    expect(fourierSpectrum([], 0, 5).summed).toEqual(new Float64Array(3));
  });
});

describe('frequencyEntropy (protocol §7.4)', () => {
  it.each(fixture.entropy.map((c) => [`p = ${c.p}, ${c.frequencies}`, c] as const))(
    '%s against numpy (zero row skipped)',
    (_n, c) => {
      const e = frequencyEntropy(c.matrix, c.rows, c.p, { frequencies: c.frequencies });
      expect([e.neurons, e.skipped]).toEqual([c.neurons, c.skipped]);
      expect(e.skipped).toBe(1);
      expectRel(e.spectralConcentration, c.spectralConcentration);
      expectRel(e.shannon, c.shannon);
    },
  );
  it("'reference' is the default", () => {
    const c = fixture.entropy.find((x) => x.frequencies === 'reference')!;
    expect(frequencyEntropy(c.matrix, c.rows, c.p)).toEqual(
      frequencyEntropy(c.matrix, c.rows, c.p, { frequencies: 'reference' }),
    );
  });
  it('flat spectrum (a delta row) → ln 32 for both statistics; ln 33 with all frequencies', () => {
    const delta = new Float64Array(67);
    delta[13] = -2.5;
    const e = frequencyEntropy(delta, 1, 67);
    expectRel(e.spectralConcentration, LN32, 1e-14);
    expectRel(e.shannon, LN32, 1e-14);
    expectRel(frequencyEntropy(delta, 1, 67, { frequencies: 'all' }).shannon, Math.log(33), 1e-14);
    expectRel(frequencyEntropy(delta, 1, 67, { frequencies: 'all' }).spectralConcentration, Math.log(33), 1e-14);
  });
  it('a pure cosine at any f in 1..32 → ln(31 + e) − 1 ≈ 2.5180 and Shannon 0', () => {
    expect(ONE_FREQUENCY).toBeCloseTo(2.518, 3);
    const rows = Array.from({ length: 32 }, (_, i) => wave(67, i + 1, 0.37 * i, 0.5 + i)).flat();
    const e = frequencyEntropy(rows, 32, 67);
    expect(e.neurons).toBe(32);
    expectRel(e.spectralConcentration, ONE_FREQUENCY, 1e-12);
    expect(e.shannon).toBeLessThan(1e-11); // leakage at rounding level only
  });
  it('random N(0,1) 48 × 67 → ≈ 3.4576 (std ≈ 0.0002–0.0003) and Shannon ≈ 3.33', () => {
    const conc: number[] = [];
    const sh: number[] = [];
    for (let d = 0; d < 20; d++) {
      const e = frequencyEntropy(randomMatrix(48, 67, 1000 + d), 48, 67);
      expect(e.spectralConcentration).toBeGreaterThan(3.4576 - 0.0015);
      expect(e.spectralConcentration).toBeLessThan(3.4576 + 0.0015);
      conc.push(e.spectralConcentration);
      sh.push(e.shannon);
    }
    const mean = (v: number[]) => v.reduce((t, x) => t + x, 0) / v.length;
    expect(Math.abs(mean(conc) - 3.4576)).toBeLessThan(0.0003); // numpy, 2000 draws: 3.45755, std 0.0003
    expect(Math.abs(mean(sh) - 3.33)).toBeLessThan(0.005); // numpy: 3.3302, std 0.0046
    const sd = Math.sqrt(mean(conc.map((x) => (x - mean(conc)) ** 2)));
    expect(sd).toBeGreaterThan(0.0001);
    expect(sd).toBeLessThan(0.0006);
  });
  it('the reference statistic is not the Shannon entropy, and both sit between their bounds', () => {
    const e = frequencyEntropy(randomMatrix(10, 67, 3), 10, 67);
    expect(e.spectralConcentration).toBeGreaterThan(ONE_FREQUENCY);
    expect(e.spectralConcentration).toBeLessThan(LN32);
    expect(e.shannon).toBeLessThan(e.spectralConcentration - 0.05);
  });
  it('invariant to the scale of the matrix', () => {
    const m = randomMatrix(6, 67, 9);
    const a = frequencyEntropy(m, 6, 67);
    for (const k of [1e-6, 3, 1e8]) {
      const b = frequencyEntropy(
        m.map((x) => k * x),
        6,
        67,
      );
      expectRel(b.spectralConcentration, a.spectralConcentration, 1e-13);
      expectRel(b.shannon, a.shannon, 1e-13);
    }
  });
  it("'reference' drops f = ⌊p/2⌋: a cosine at f = 33 is (almost) invisible to it, the only frequency with 'all'", () => {
    const m = [...wave(67, 33, 0, 1), ...wave(67, 5, 0, 1)].map((x, i) =>
      i < 67 ? x + 1e-3 * Math.cos((2 * Math.PI * 2 * i) / 67) : x,
    );
    const ref = frequencyEntropy(m, 2, 67);
    const all = frequencyEntropy(m, 2, 67, { frequencies: 'all' });
    // reference: row 0 is then the f = 2 cosine alone → ONE_FREQUENCY for both rows
    expectRel(ref.spectralConcentration, ONE_FREQUENCY, 1e-9);
    // all: row 0 has a 1000:1 pair of frequencies among 33 bins, so it is close to one frequency of K = 33
    expect(all.spectralConcentration).toBeLessThan(Math.log(32 + Math.E) - 1 + 0.01);
    expect(all.spectralConcentration).toBeGreaterThan(Math.log(32 + Math.E) - 1 - 0.01);
  });
  it('zero rows are skipped; only zero rows → NaN', () => {
    const z = new Float64Array(3 * 67);
    const e = frequencyEntropy(z, 3, 67);
    expect(e).toMatchObject({ neurons: 0, skipped: 3 });
    expect(e.spectralConcentration).toBeNaN();
    expect(e.shannon).toBeNaN();
    const m = [...new Array(67).fill(0), ...wave(67, 4)];
    expect(frequencyEntropy(m, 2, 67)).toMatchObject({ neurons: 1, skipped: 1 });
    expectRel(frequencyEntropy(m, 2, 67).spectralConcentration, ONE_FREQUENCY, 1e-12);
  });
  it('errors: bad shape, no frequencies to use, bad option', () => {
    expect(() => frequencyEntropy([1, 2, 3], 1, 4)).toThrow(MetricsError);
    expect(() => frequencyEntropy([1, 2, 3], 1, 3)).toThrow("no frequencies to use for p = 3 with 'reference'");
    expect(frequencyEntropy([1, 2, 3], 1, 3, { frequencies: 'all' }).spectralConcentration).toBe(0); // K = 1: q = [1], ln e − 1 = 0
    expect(() => frequencyEntropy([1, 2, 3], 1, 3, { frequencies: 'some' as 'all' })).toThrow(
      "options.frequencies must be 'reference' or 'all'",
    );
  });
});

describe('gini', () => {
  it('known values (Hurley & Rickard)', () => {
    expect(gini([1, 1, 1, 1])).toBe(0);
    expect(gini([0, 0, 0, 5])).toBe(0.75);
    expect(gini([0, 0, 0, 0, 0, 0, 0, 0, 0, 2])).toBeCloseTo(0.9, 15);
    expect(gini([3])).toBe(0);
    expectRel(gini([1, 2, 3]), 2 / 9, 1e-15); // (−2·1 + 0·2 + 2·3) / (3·6)
  });
  it.each(fixture.gini.map((c) => [c.values.length, c] as const))(
    'n = %i against numpy (mean absolute difference)',
    (_n, c) => {
      expectRel(gini(c.values), c.gini, 1e-12);
      expectRel(gini(Float32Array.from(c.values.map((x) => Math.fround(x)))), c.gini, 1e-6);
    },
  );
  it('invariant to scale and order; does not change its input', () => {
    const v = Float64Array.from(randomMatrix(1, 30, 4), Math.abs);
    const copy = Float64Array.from(v);
    const g = gini(v);
    expect(v).toEqual(copy);
    expectRel(gini(v.map((x) => 7.5 * x)), g, 1e-14);
    expectRel(gini([...v].reverse()), g, 1e-14);
    expect(g).toBeGreaterThan(0.2);
    expect(g).toBeLessThan(0.6);
  });
  it('all zero or empty → NaN; negative or non-finite values throw', () => {
    expect(gini([0, 0, 0])).toBeNaN();
    expect(gini([])).toBeNaN();
    expect(() => gini([1, -1e-300])).toThrow('gini needs finite values >= 0; value 1 is -1e-300');
    expect(() => gini([1, Number.NaN])).toThrow(MetricsError);
    expect(() => gini([1, Infinity])).toThrow(MetricsError);
  });
});

describe('spectrumGini', () => {
  it('against numpy: gini of summed over f = 1..⌊p/2⌋', () => {
    const c = fixture.spectrumGini;
    expectRel(spectrumGini(fourierSpectrum(c.matrix, c.rows, c.p)), c.gini, 1e-12);
  });
  it('ignores the constant term: adding a constant to every row changes nothing', () => {
    const m = randomMatrix(8, 67, 21);
    const a = spectrumGini(fourierSpectrum(m, 8, 67));
    const b = spectrumGini(
      fourierSpectrum(
        m.map((x) => x + 5),
        8,
        67,
      ),
    );
    expectRel(b, a, 1e-12);
  });
  it('one frequency for every neuron → (K − 1)/K; random rows → low', () => {
    const rows = Array.from({ length: 6 }, (_, i) => wave(67, 12, i, 1 + i)).flat();
    expectRel(spectrumGini(fourierSpectrum(rows, 6, 67)), 32 / 33, 1e-12);
    expect(spectrumGini(fourierSpectrum(randomMatrix(48, 67, 2), 48, 67))).toBeLessThan(0.1);
  });
});

describe('keyFrequencies (Nanda et al.; an extra)', () => {
  it.each(fixture.keyFrequencies.map((c) => [c.threshold, c] as const))('threshold %f against numpy', (_t, c) => {
    const k = keyFrequencies(c.matrix, c.rows, c.p, { threshold: c.threshold });
    expect(k.keyFrequencies).toEqual(c.keyFrequencies);
    expect([k.assigned, k.unassigned]).toEqual([c.assigned, c.unassigned]);
    expect(k.perRow.map((r) => r.frequency)).toEqual(c.perRow.map((r) => r.frequency));
    k.perRow.forEach((r, i) =>
      c.perRow[i]!.share === 0 ? expect(r.share).toBe(0) : expectRel(r.share, c.perRow[i]!.share, 1e-10),
    );
  });
  it('default threshold 0.85; sorted by neurons then frequency; constant and zero rows unassigned', () => {
    const p = 23;
    const rows = [
      wave(p, 7),
      wave(p, 3, 1),
      wave(p, 7, 2, 5),
      wave(p, 3, 0, 0.1),
      wave(p, 2),
      new Array(p).fill(3),
      new Array(p).fill(0),
    ];
    rows[0] = rows[0]!.map((x, i) => x + 0.4 * Math.cos((2 * Math.PI * 5 * i) / p)); // share 1/1.16 ≈ 0.862 ≥ 0.85
    const k = keyFrequencies(rows.flat(), rows.length, p);
    expect(k.keyFrequencies).toEqual([
      { frequency: 3, neurons: 2 },
      { frequency: 7, neurons: 2 },
      { frequency: 2, neurons: 1 },
    ]);
    expectRel(k.perRow[0]!.share, 1 / 1.16, 1e-12);
    expect(k.perRow.slice(5)).toEqual([
      { frequency: null, share: 0 },
      { frequency: null, share: 0 },
    ]);
    expect([k.assigned, k.unassigned]).toEqual([5, 2]);
    // at 0.87 the mixed row drops out
    expect(keyFrequencies(rows.flat(), rows.length, p, { threshold: 0.87 }).perRow[0]).toEqual({
      frequency: null,
      share: k.perRow[0]!.share,
    });
  });
  it('ties go to the lowest frequency; a share equal to the threshold is assigned (≥)', () => {
    // a delta row has Y_f = y_0 exactly for every f: all 33 non-constant frequencies tie bit for bit
    const delta = new Float64Array(67);
    delta[0] = 1;
    const t = keyFrequencies(delta, 1, 67, { threshold: 0 });
    expect(t.perRow[0]!.frequency).toBe(1);
    expectRel(t.perRow[0]!.share, 1 / 33, 1e-14);
    // [1, 0, −1, 0, ...] is exactly frequency 2 of p = 8 (quarter turns are exact): share exactly 1
    const k = keyFrequencies([1, 0, -1, 0, 1, 0, -1, 0], 1, 8, { threshold: 1 });
    expect(k.perRow[0]).toEqual({ frequency: 2, share: 1 });
    expect(k.keyFrequencies).toEqual([{ frequency: 2, neurons: 1 }]);
  });
  it('the Nyquist frequency of an even p counts with its Parseval weight', () => {
    const p = 12;
    const alt = Array.from({ length: p }, (_, x) => (x % 2 ? -1 : 1)); // ‖y‖² = 12, all at f = 6
    const mix = alt.map((v, x) => v + Math.cos((2 * Math.PI * x) / p)); // + 6 at f = 1 → share 12/18
    const k = keyFrequencies([...alt, ...mix], 2, p, { threshold: 0.5 });
    expect(k.perRow[0]!.frequency).toBe(6);
    expectRel(k.perRow[0]!.share, 1, 1e-14);
    expect(k.perRow[1]!.frequency).toBe(6);
    expectRel(k.perRow[1]!.share, 2 / 3, 1e-13);
  });
  it('invariant to scale and to a constant offset', () => {
    const c = fixture.keyFrequencies[0]!;
    const a = keyFrequencies(c.matrix, c.rows, c.p);
    const b = keyFrequencies(
      c.matrix.map((x) => 1e-4 * x + 0.5),
      c.rows,
      c.p,
    );
    expect(b.keyFrequencies).toEqual(a.keyFrequencies);
    b.perRow.forEach((r, i) =>
      i === 7 || i === 8 ? expect(r.share).toBe(0) : expectRel(r.share, a.perRow[i]!.share, 1e-9),
    );
  });
  it('errors', () => {
    expect(() => keyFrequencies([1, 2, 3], 1, 4)).toThrow(MetricsError);
    expect(() => keyFrequencies([1, 2, 3, 4], 1, 4, { threshold: Number.NaN })).toThrow(
      'threshold must be a finite number',
    );
  });
});
